using Isola.Host.Build;

namespace Isola.Host.Tests.Build;

public sealed class FunctionBuilderTests
{
    [Theory]
    [InlineData("async function handler(request, context) { return { statusCode: 200 }; }", true)]
    [InlineData("const handler = async (request) => ({ statusCode: 200 });", true)]
    [InlineData("export default async function handler(req) { return new Response('x'); }", false)]
    [InlineData("Deno.serve(() => new Response('x'));", false)]
    [InlineData("async function handle(request) {}", false)]
    public void ExposeScriptHandler_exports_only_a_top_level_handler_of_an_export_free_script(string code, bool exported)
    {
        var result = FunctionBuilder.ExposeScriptHandler(code);
        Assert.Equal(exported, result.Contains(FunctionBuilder.ScriptHandlerExport, StringComparison.Ordinal));
        Assert.StartsWith(code, result);
    }

    [Fact]
    public void DescribeFailure_reports_the_first_error_at_its_function_relative_location()
    {
        const string output = """
            ⚠️  deno bundle is experimental and subject to changes
            error: SyntaxError: Expected ',', got '{'
              |
            1 | export default function(x { return 1 }
              |                           ~
                at file:///data/builds/abc/hello/index.ts:1:27
            error: bundling failed
            """;
        Assert.Equal("index.ts:1:27: SyntaxError: Expected ',', got '{'", FunctionBuilder.DescribeFailure(output, "/data/builds/abc/hello"));
    }
}
