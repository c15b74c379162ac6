namespace Hyperion.Contracts.ControlPlane;

/// <summary>
/// The names of models and teams: a letter or digit, then letters, digits, '_', '.' or '-', at most 128 characters
/// (the <c>models.name</c> and <c>teams.name</c> checks). Scopes name them too (<c>deploy:&lt;model&gt;</c>,
/// <c>approve:&lt;team&gt;</c>), so the rule lives where the gateway and the orchestrator both read it.
/// </summary>
public static class ResourceName
{
    public const int MaxLength = 128;

    public const string Rule = "a letter or digit, then letters, digits, '_', '.' or '-', at most 128 characters";

    public static bool IsValid(ReadOnlySpan<char> name)
    {
        if (name.Length is 0 or > MaxLength || !char.IsAsciiLetterOrDigit(name[0]))
        {
            return false;
        }
        foreach (var c in name[1..])
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '.' or '-'))
            {
                return false;
            }
        }
        return true;
    }
}
