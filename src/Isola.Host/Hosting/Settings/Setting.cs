namespace Isola.Host.Hosting.Settings;

/// <summary>
/// One operator setting: the <c>ISOLA_*</c> variable (and flag) that sets one value of <see cref="IsolaOptions"/>,
/// the rule that value must meet, and the default and meaning docs/running.md shows for it. Made by
/// <see cref="Of"/>, whose two closures know where the value lives and how it is read and judged.
/// </summary>
internal sealed class Setting(string variable, string? flag, string meaning, bool secret, string defaultText,
    Func<IsolaOptions, string, (IsolaOptions? Options, string? Problem)> apply, Func<IsolaOptions, (string? Shown, string? Problem)> check)
{
    public string Variable { get; } = variable;

    /// <summary>The command-line form, e.g. <c>--port N</c>; null when only the variable sets it.</summary>
    public string? Flag { get; } = flag;

    /// <summary>The flag's name without its placeholder (<c>--port</c>).</summary>
    public string? FlagName => Flag?.Split(' ')[0];

    /// <summary>Markdown for docs/running.md: what it does, and for a limit which event starts and ends it.</summary>
    public string Meaning { get; } = meaning;

    /// <summary>A credential: messages name the setting but never repeat its value.</summary>
    public bool Secret { get; } = secret;

    /// <summary>Markdown for the default column.</summary>
    public string DefaultText { get; } = defaultText;

    /// <summary>A setting whose value lives at <paramref name="get"/>/<paramref name="set"/> in the options.</summary>
    /// <param name="defaultText">The default as docs show it; null writes the default options' value in the variable's syntax.</param>
    public static Setting Of<T>(string variable, ValueRule<T> rule, Func<IsolaOptions, T> get, Func<IsolaOptions, T, IsolaOptions> set,
        string meaning, string? flag = null, string? defaultText = null, bool secret = false)
    {
        if (defaultText is null)
        {
            var shown = rule.Show(get(IsolaSettings.Defaults)) ?? throw new ArgumentException($"{variable} has no default to show; give its default text", nameof(defaultText));
            defaultText = shown.All(char.IsAsciiDigit) ? shown : $"`{shown}`";
        }

        return new Setting(variable, flag, meaning, secret, defaultText,
            (options, text) =>
            {
                var (ok, value) = rule.Parse(text);
                if (!ok)
                {
                    return (null, "is not " + rule.Expected);
                }

                return rule.Problem(value) is { } problem ? (null, problem) : (set(options, value), null);
            },
            options =>
            {
                var value = get(options);
                return (rule.Show(value), rule.Problem(value));
            });
    }

    /// <summary>
    /// Sets this setting from an operator's <paramref name="text"/>, given as <paramref name="source"/> (the
    /// variable or the flag); returns the message for the operator when the text does not meet the rule.
    /// </summary>
    public string? TryApply(ref IsolaOptions options, string text, string source)
    {
        var (applied, problem) = apply(options, text);
        if (problem is not null)
        {
            return Describe(source, text, problem);
        }

        options = applied!;
        return null;
    }

    /// <summary>The message for the operator when the value in <paramref name="options"/> breaks the rule; null when it holds.</summary>
    public string? Check(IsolaOptions options)
    {
        var (shown, problem) = check(options);
        return problem is null ? null : Describe(Variable, shown ?? "", problem);
    }

    private string Describe(string source, string text, string problem) =>
        Secret ? $"{source} {problem}"
        : source.StartsWith("--", StringComparison.Ordinal) ? $"{source} {text} {problem}"
        : $"{source}={text} {problem}";
}
