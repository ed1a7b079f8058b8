namespace Isola.Host.Data.AppDatabases;

/// <summary>A result column: its name and PostgreSQL type name (e.g. <c>int8</c>, <c>_text</c> for text[]).</summary>
internal sealed record SqlField(string Name, string DataType);
