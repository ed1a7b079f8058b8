// The runtime guard's address check (runtime/src/sandbox.ts): every spelling of a loopback, private,
// unique-local or link-local literal is caught; public addresses pass. No network traffic.
import { assertEquals } from "./assert.ts";
import { isPrivateLiteral } from "../src/sandbox.ts";

Deno.test("private, loopback and link-local literals are recognised in every form", () => {
  const denied = [
    "127.0.0.1", "127.9.9.9", "0.0.0.0", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "100.64.0.1",
    "169.254.169.254", "224.0.0.1", "255.255.255.255",
    "::", "::1", "[::1]", "::ffff:127.0.0.1", "::ffff:7f00:1", "::ffff:10.0.0.1", "::127.0.0.1",
    "fd00::2", "fc00::1", "[fd00:ec2::254]", "fe80::1", "fe80::1%eth0", "febf::1", "ff02::1",
    "64:ff9b::10.0.0.1", "2002:7f00:1::",
  ];
  for (const host of denied) assertEquals(isPrivateLiteral(host), true, host);
});

Deno.test("public literals and names pass the literal check (names are Deno's --deny-net's job)", () => {
  const allowed = ["8.8.8.8", "1.1.1.1", "172.32.0.1", "192.169.0.1", "100.128.0.1", "::ffff:8.8.8.8", "2001:4860:4860::8888",
    "64:ff9b::808:808", "2002:808:808::", "example.com", "localhost", "2130706433"];
  for (const host of allowed) assertEquals(isPrivateLiteral(host), false, host);
});
