namespace Hyperion.Tests.TestSupport;

/// <summary>A fresh folder under /tmp (reachable by the postgres user), removed on dispose.</summary>
public sealed class TemporaryDirectory : IDisposable
{
    public TemporaryDirectory(string prefix = "hyperion-test")
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public override string ToString() => Path;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A process that outlived its test still writes here; the next /tmp clean-up takes it.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
