namespace Isola.Host.Data.AppDatabases;

/// <summary>
/// Splits a migration into statements at top-level semicolons, skipping quotes, quoted identifiers,
/// dollar-quoted bodies and comments, and keeps where each starts, so PostgreSQL's error position
/// (relative to one statement) can be reported in the text the operator sent.
/// </summary>
internal static class SqlScript
{
    public readonly record struct Statement(string Text, int Offset);

    public static IReadOnlyList<Statement> Split(string sql)
    {
        var statements = new List<Statement>();
        var start = 0;
        var depth = 0;
        var i = 0;
        while (i < sql.Length)
        {
            var c = sql[i];
            switch (c)
            {
                case '-' when At(sql, i + 1) == '-':
                    i = sql.IndexOf('\n', i) is var end and >= 0 ? end + 1 : sql.Length;
                    continue;
                case '/' when At(sql, i + 1) == '*':
                    i = SkipBlockComment(sql, i);
                    continue;
                case '\'':
                    // E'...' strings take backslash escapes.
                    var escapes = i > 0 && sql[i - 1] is 'e' or 'E' && (i < 2 || !IsIdentifier(sql[i - 2]));
                    i = SkipQuoted(sql, i, '\'', escapes);
                    continue;
                case '"':
                    i = SkipQuoted(sql, i, '"', false);
                    continue;
                case '$' when i == 0 || !IsIdentifier(sql[i - 1]):
                    i = SkipDollarQuoted(sql, i);
                    continue;
                case '(':
                    depth++;
                    break;
                case ')':
                    depth = Math.Max(0, depth - 1);
                    break;
                case ';' when depth == 0:
                    Add(statements, sql, start, i);
                    start = i + 1;
                    break;
            }

            i++;
        }

        Add(statements, sql, start, sql.Length);
        return statements;
    }

    private static void Add(List<Statement> statements, string sql, int start, int end)
    {
        // Leading blanks are dropped (positions count from the first real character); a statement of
        // only comments and blanks is still sent when it is the whole script, so errors stay PostgreSQL's.
        while (start < end && char.IsWhiteSpace(sql[start]))
        {
            start++;
        }

        if (start < end && HasCode(sql, start, end))
        {
            statements.Add(new Statement(sql[start..end], start));
        }
    }

    private static bool HasCode(string sql, int start, int end)
    {
        var i = start;
        while (i < end)
        {
            if (char.IsWhiteSpace(sql[i]))
            {
                i++;
            }
            else if (sql[i] == '-' && At(sql, i + 1) == '-')
            {
                i = sql.IndexOf('\n', i) is var eol and >= 0 ? eol + 1 : end;
            }
            else if (sql[i] == '/' && At(sql, i + 1) == '*')
            {
                i = SkipBlockComment(sql, i);
            }
            else
            {
                return true;
            }
        }

        return false;
    }

    private static int SkipBlockComment(string sql, int i)
    {
        // PostgreSQL's block comments nest.
        var depth = 0;
        while (i < sql.Length)
        {
            if (sql[i] == '/' && At(sql, i + 1) == '*')
            {
                depth++;
                i += 2;
            }
            else if (sql[i] == '*' && At(sql, i + 1) == '/')
            {
                depth--;
                i += 2;
                if (depth == 0)
                {
                    return i;
                }
            }
            else
            {
                i++;
            }
        }

        return sql.Length;
    }

    private static int SkipQuoted(string sql, int i, char quote, bool backslashEscapes)
    {
        i++;
        while (i < sql.Length)
        {
            if (backslashEscapes && sql[i] == '\\')
            {
                i += 2;
                continue;
            }

            if (sql[i] == quote)
            {
                if (At(sql, i + 1) == quote)
                {
                    i += 2;
                    continue;
                }

                return i + 1;
            }

            i++;
        }

        return sql.Length;
    }

    private static int SkipDollarQuoted(string sql, int i)
    {
        var tagEnd = i + 1;
        while (tagEnd < sql.Length && (char.IsLetterOrDigit(sql[tagEnd]) || sql[tagEnd] == '_'))
        {
            tagEnd++;
        }

        // $1 is a parameter, not a tag; a tag needs its closing '$'.
        if (tagEnd >= sql.Length || sql[tagEnd] != '$' || (tagEnd > i + 1 && char.IsDigit(sql[i + 1])))
        {
            return i + 1;
        }

        var tag = sql[i..(tagEnd + 1)];
        var close = sql.IndexOf(tag, tagEnd + 1, StringComparison.Ordinal);
        return close < 0 ? sql.Length : close + tag.Length;
    }

    private static char At(string sql, int i) => i < sql.Length ? sql[i] : '\0';

    private static bool IsIdentifier(char c) => char.IsLetterOrDigit(c) || c is '_' or '$';
}
