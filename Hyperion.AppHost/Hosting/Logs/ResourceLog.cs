using System.Text;

namespace Hyperion.AppHost.Hosting;

/// <summary>One line a resource wrote, as kept for the dashboard and crash reports.</summary>
public sealed record ResourceLogLine(DateTimeOffset Timestamp, string Instance, bool IsError, string Text);

/// <summary>
/// A resource instance's output: the last lines in memory (dashboard, crash reports) and everything in
/// a size-capped rolling file &lt;state&gt;/logs/&lt;instance&gt;.log (older ones .1.log, .2.log, ...).
/// </summary>
public sealed class ResourceLog : IDisposable
{
    private const int LinesKept = 500;
    private readonly Lock _gate = new();
    private readonly Queue<ResourceLogLine> _recent = new(LinesKept);
    private readonly string _path;
    private readonly long _maxBytes;
    private readonly int _filesKept;
    private readonly ConsoleSink? _console;
    private FileStream? _file;

    internal ResourceLog(string instance, string directory, long maxBytes, int filesKept, ConsoleSink? console)
    {
        Instance = instance;
        Directory.CreateDirectory(directory);
        _path = Path.Combine(directory, instance + ".log");
        _maxBytes = maxBytes;
        _filesKept = filesKept;
        _console = console;
    }

    public string Instance { get; }

    public string FilePath => _path;

    public void Write(string text, bool isError = false)
    {
        var line = new ResourceLogLine(DateTimeOffset.UtcNow, Instance, isError, text);
        lock (_gate)
        {
            if (_recent.Count == LinesKept)
            {
                _recent.Dequeue();
            }
            _recent.Enqueue(line);
            WriteToFile(line);
        }
        _console?.Write(line);
    }

    public IReadOnlyList<ResourceLogLine> Tail(int count)
    {
        lock (_gate)
        {
            return _recent.Skip(Math.Max(0, _recent.Count - count)).ToArray();
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _file?.Dispose();
            _file = null;
        }
    }

    private void WriteToFile(ResourceLogLine line)
    {
        _file ??= new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
        var bytes = Encoding.UTF8.GetBytes($"{line.Timestamp:yyyy-MM-ddTHH:mm:ss.fffZ} {(line.IsError ? "ERR" : "OUT")} {line.Text}\n");
        _file.Write(bytes);
        _file.Flush();
        if (_file.Length >= _maxBytes)
        {
            Roll();
        }
    }

    private void Roll()
    {
        _file!.Dispose();
        _file = null;
        if (_filesKept == 0)
        {
            File.Delete(_path);
            return;
        }
        File.Delete(RolledPath(_filesKept));
        for (var i = _filesKept - 1; i >= 1; i--)
        {
            if (File.Exists(RolledPath(i)))
            {
                File.Move(RolledPath(i), RolledPath(i + 1));
            }
        }
        File.Move(_path, RolledPath(1));
    }

    private string RolledPath(int index) => Path.ChangeExtension(_path, $".{index}.log");
}
