namespace Isola.Host.Hosting.Settings;

/// <summary>
/// How one kind of setting value is written and what it must be: <see cref="Parse"/> reads the text an
/// operator gives, <see cref="Problem"/> judges a value however it was set (text or code), <see cref="Show"/>
/// writes a value back the way an operator would type it (for messages and the default column).
/// </summary>
/// <param name="Expected">What a valid value is, after "is not": "a whole number from 1 to 100".</param>
internal sealed record ValueRule<T>(
    string Expected,
    Func<string, (bool Ok, T Value)> Parse,
    Func<T, string?> Problem,
    Func<T, string?> Show);
