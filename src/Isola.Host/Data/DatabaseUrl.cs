using Npgsql;

namespace Isola.Host.Data;

/// <summary>
/// Accepts <c>ISOLA_DATABASE_URL</c> both as a libpq URL (<c>postgres://user:pass@host:5432/db?sslmode=require</c>,
/// host may be a percent-encoded socket folder) and as an Npgsql key=value connection string.
/// </summary>
internal static class DatabaseUrl
{
    public static string ToConnectionString(string value)
    {
        if (!value.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) &&
            !value.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                return new NpgsqlConnectionStringBuilder(value).ConnectionString;
            }
            catch (ArgumentException ex)
            {
                throw new FormatException($"ISOLA_DATABASE_URL is neither a postgres:// URL nor a valid connection string: {ex.Message}", ex);
            }
        }

        var uri = new Uri(value);
        var builder = new NpgsqlConnectionStringBuilder();
        if (!string.IsNullOrEmpty(uri.Host))
        {
            builder.Host = Uri.UnescapeDataString(uri.Host);
        }

        if (uri.Port > 0)
        {
            builder.Port = uri.Port;
        }

        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            var parts = uri.UserInfo.Split(':', 2);
            builder.Username = Uri.UnescapeDataString(parts[0]);
            if (parts.Length == 2)
            {
                builder.Password = Uri.UnescapeDataString(parts[1]);
            }
        }

        var database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (database.Length > 0)
        {
            builder.Database = database;
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = pair.Split('=', 2);
            var key = Uri.UnescapeDataString(kv[0]);
            var val = kv.Length == 2 ? Uri.UnescapeDataString(kv[1]) : "";
            switch (key.ToLowerInvariant())
            {
                case "host":
                    builder.Host = val;
                    break;
                case "user":
                    // libpq's name for it; the database.url an embedded node writes uses it.
                    builder.Username = val;
                    break;
                case "sslmode":
                    builder.SslMode = Enum.Parse<SslMode>(val.Replace("-", "", StringComparison.Ordinal), ignoreCase: true);
                    break;
                case "application_name":
                    builder.ApplicationName = val;
                    break;
                default:
                    builder[key] = val;
                    break;
            }
        }

        return builder.ConnectionString;
    }
}
