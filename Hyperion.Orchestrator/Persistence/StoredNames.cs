using System.Collections.Frozen;
using System.Text.Json;

namespace Hyperion.Orchestrator.Persistence;

/// <summary>
/// The text a kind (an enum) is stored as: its member name in snake_case (<c>RolledBack</c> → <c>rolled_back</c>),
/// the very name the control plane's JSON gives it (<see cref="Contracts.ControlPlane.ControlPlaneJson"/>), so a
/// column and the API can never drift apart. Convert at the edge: <see cref="Name"/> when binding, <see cref="Parse"/>
/// when reading.
/// </summary>
internal static class StoredNames<T> where T : struct, Enum
{
    private static readonly FrozenDictionary<T, string> s_names =
        Enum.GetValues<T>().ToFrozenDictionary(value => value, value => JsonNamingPolicy.SnakeCaseLower.ConvertName(value.ToString()));

    private static readonly FrozenDictionary<string, T> s_values =
        s_names.ToFrozenDictionary(pair => pair.Value, pair => pair.Key, StringComparer.Ordinal);

    /// <summary>Every stored name, in declaration order.</summary>
    public static IReadOnlyList<string> All { get; } = [.. Enum.GetValues<T>().Select(value => s_names[value])];

    public static string Name(T value) =>
        s_names.TryGetValue(value, out var name) ? name : throw new ArgumentOutOfRangeException(nameof(value), value, $"not a {typeof(T).Name}");

    /// <param name="column">Where the text came from (e.g. <c>rollouts.state</c>), for the error.</param>
    /// <exception cref="InvalidDataException">The text is none of the names (a row this version cannot read).</exception>
    public static T Parse(string name, string column) =>
        s_values.TryGetValue(name, out var value)
            ? value
            : throw new InvalidDataException($"{column} '{name}' is not one of {string.Join(", ", All)}");
}
