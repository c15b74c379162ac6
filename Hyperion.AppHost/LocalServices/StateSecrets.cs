using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hyperion.AppHost.LocalServices;

/// <summary>
/// Passwords the local Redis and PostgreSQL are created with, kept beside their data (as Aspire keeps generated
/// parameters in user secrets, "Parameters:&lt;name&gt;") in a file only the owner reads: PostgreSQL's password is
/// fixed when its data directory is made, so a restart, or a test with its own state directory, must find the
/// same one there, not in a per-user store.
/// </summary>
internal sealed class StateSecrets(string path)
{
    /// <summary>Letters and digits only, so a value needs no escaping in a connection string or URL.</summary>
    public const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    public const int GeneratedLength = 24;
    private static readonly JsonSerializerOptions s_writeOptions = new() { WriteIndented = true };
    private static readonly Lock s_gate = new();

    public string Path { get; } = path;

    /// <summary>The stored value, or a new random one that is stored before it is returned.</summary>
    public string GetOrCreate(string parameterName)
    {
        lock (s_gate)
        {
            var root = Load();
            var parameters = root["Parameters"] as JsonObject ?? [];
            if (parameters[parameterName]?.GetValue<string>() is { Length: > 0 } existing)
            {
                return existing;
            }
            var value = RandomNumberGenerator.GetString(Alphabet, GeneratedLength);
            parameters[parameterName] = value;
            root["Parameters"] = parameters;
            Save(root);
            return value;
        }
    }

    private JsonObject Load()
    {
        if (!File.Exists(Path))
        {
            return [];
        }
        try
        {
            return JsonNode.Parse(File.ReadAllText(Path)) as JsonObject ?? [];
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException($"{Path} is not valid JSON ({ex.Message}). Fix it, or delete it together with the data it protects (the postgres folder beside it).", ex);
        }
    }

    private void Save(JsonObject root)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        var temporary = Path + ".tmp";
        using (var stream = new FileStream(temporary, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        {
            JsonSerializer.Serialize(stream, root, s_writeOptions);
        }
        File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(temporary, Path, overwrite: true);
    }
}
