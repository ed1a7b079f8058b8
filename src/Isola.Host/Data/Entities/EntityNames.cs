using System.Text;

namespace Isola.Host.Data.Entities;

/// <summary>
/// How entity and field names meet SQL names (docs/typed-functions.md, "Entities"): <c>ChatMessage</c> is the table
/// <c>ChatMessage</c>, else <c>chat_message</c>, else <c>chat_messages</c>; a field <c>roomId</c> is the column
/// <c>roomId</c>, else <c>room_id</c>; and a snake_case column comes back under its camelCase name.
/// </summary>
internal static class EntityNames
{
    /// <summary>Table names tried for an entity, in order.</summary>
    public static IEnumerable<string> TablesFor(string entity)
    {
        var snake = Snake(entity);
        yield return entity;
        yield return snake;
        yield return snake + "s";
        yield return snake + "es";
    }

    /// <summary>Column names tried for a field, in order.</summary>
    public static IEnumerable<string> ColumnsFor(string field)
    {
        yield return field;
        yield return Snake(field);
    }

    /// <summary>Column names tried for a relation (<c>room</c>): <c>room</c>, <c>roomId</c>, <c>room_id</c>.</summary>
    public static IEnumerable<string> RelationColumnsFor(string relation)
    {
        yield return relation;
        yield return relation + "Id";
        yield return Snake(relation) + "_id";
    }

    /// <summary><c>roomId</c> → <c>room_id</c>, <c>ChatMessage</c> → <c>chat_message</c>, <c>userID</c> → <c>user_id</c>.</summary>
    public static string Snake(string name)
    {
        var builder = new StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c))
            {
                var afterLowerOrDigit = i > 0 && (char.IsLower(name[i - 1]) || char.IsDigit(name[i - 1]));
                var endsAcronym = i > 0 && char.IsUpper(name[i - 1]) && i + 1 < name.Length && char.IsLower(name[i + 1]);
                if (afterLowerOrDigit || endsAcronym)
                {
                    builder.Append('_');
                }

                builder.Append(char.ToLowerInvariant(c));
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    /// <summary>The name a column is returned under: <c>room_id</c> → <c>roomId</c>; any other column as it is.</summary>
    public static string FieldFor(string column)
    {
        if (!column.Contains('_', StringComparison.Ordinal) || column.StartsWith('_') || column.EndsWith('_') || column.Any(char.IsUpper))
        {
            return column;
        }

        var builder = new StringBuilder(column.Length);
        var upper = false;
        foreach (var c in column)
        {
            if (c == '_')
            {
                upper = true;
                continue;
            }

            builder.Append(upper ? char.ToUpperInvariant(c) : c);
            upper = false;
        }

        return builder.ToString();
    }

    /// <summary>A quoted SQL identifier.</summary>
    public static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
