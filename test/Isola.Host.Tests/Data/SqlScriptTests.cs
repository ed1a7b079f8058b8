using Isola.Host.Data.AppDatabases;

namespace Isola.Host.Tests.Data;

public sealed class SqlScriptTests
{
    [Fact]
    public void Splits_at_top_level_semicolons_and_keeps_offsets()
    {
        var sql = "create table a (id int);\n  insert into a values (1);";
        var statements = SqlScript.Split(sql);
        Assert.Equal(["create table a (id int)", "insert into a values (1)"], statements.Select(s => s.Text));
        Assert.Equal(sql.IndexOf("insert", StringComparison.Ordinal), statements[1].Offset);
    }

    [Theory]
    [InlineData("select 'a;b'; select 2", 2)]
    [InlineData("select E'it\\'s;'; select 2", 2)]
    [InlineData("select \"we;ird\" from t; select 2", 2)]
    [InlineData("create function f() returns int language sql as $$ select 1; select 2 $$; select 3", 2)]
    [InlineData("create function f() returns int language plpgsql as $body$ begin return 1; end $body$", 1)]
    [InlineData("select $1::int; select 2", 2)]
    [InlineData("-- a comment; still a comment\nselect 1; /* block; /* nested; */ still */ select 2", 2)]
    [InlineData("create rule r as on insert to t do also (insert into u values (1); insert into v values (2))", 1)]
    [InlineData("select 1;;  ; -- only a comment\n", 1)]
    public void Quotes_bodies_and_comments_do_not_split(string sql, int count) =>
        Assert.Equal(count, SqlScript.Split(sql).Count);
}
