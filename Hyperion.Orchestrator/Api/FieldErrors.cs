namespace Hyperion.Orchestrator.Api;

/// <summary>A body's mistakes, field → messages in the order found, for <see cref="ApiProblems.Invalid"/>'s <c>errors</c>.</summary>
internal sealed class FieldErrors
{
    private readonly Dictionary<string, List<string>> _byField = new(StringComparer.Ordinal);

    public void Add(string field, string message)
    {
        if (!_byField.TryGetValue(field, out var messages))
        {
            _byField[field] = messages = [];
        }
        messages.Add(message);
    }

    public Dictionary<string, string[]> ToDictionary() => _byField.ToDictionary(pair => pair.Key, pair => pair.Value.ToArray(), StringComparer.Ordinal);
}
