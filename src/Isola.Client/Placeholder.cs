namespace Isola.Client; public sealed class Placeholder;
