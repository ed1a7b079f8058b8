using Isola.Host.Data;
using Npgsql;

namespace Isola.Host.Tests.Data;

public sealed class DatabaseUrlTests
{
    [Fact]
    public void A_postgres_URL_becomes_a_connection_string()
    {
        var builder = new NpgsqlConnectionStringBuilder(DatabaseUrl.ToConnectionString("postgres://app:p%40ss@db.internal:6543/isola?sslmode=require"));
        Assert.Equal("db.internal", builder.Host);
        Assert.Equal(6543, builder.Port);
        Assert.Equal("app", builder.Username);
        Assert.Equal("p@ss", builder.Password);
        Assert.Equal("isola", builder.Database);
        Assert.Equal(SslMode.Require, builder.SslMode);
    }

    [Fact]
    public void A_socket_folder_can_be_given_as_the_host_parameter()
    {
        var builder = new NpgsqlConnectionStringBuilder(DatabaseUrl.ToConnectionString("postgresql:///isola?host=/var/run/postgresql"));
        Assert.Equal("/var/run/postgresql", builder.Host);
        Assert.Equal("isola", builder.Database);

        // As an embedded node writes it to database.url: the folder escaped, the port, and libpq's "user".
        var embedded = new NpgsqlConnectionStringBuilder(DatabaseUrl.ToConnectionString("postgresql:///isola?host=%2Ftmp%2Fisola%20pg&port=5432&user=isola"));
        Assert.Equal(("/tmp/isola pg", 5432, "isola", "isola"), (embedded.Host, embedded.Port, embedded.Username, embedded.Database));
    }

    [Fact]
    public void A_connection_string_passes_through_and_garbage_is_a_clear_error()
    {
        Assert.Contains("Host=h", DatabaseUrl.ToConnectionString("Host=h;Database=d"));
        var error = Assert.Throws<FormatException>(() => DatabaseUrl.ToConnectionString("not a url at all"));
        Assert.Contains("ISOLA_DATABASE_URL", error.Message);
    }
}
