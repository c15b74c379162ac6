namespace Hyperion.AppHost.Hosting;

/// <summary>Prints resources' output on the AppHost's console as "name | line", each name in its own colour.</summary>
internal sealed class ConsoleSink
{
    private static readonly ConsoleColor[] s_palette =
        [ConsoleColor.Cyan, ConsoleColor.Green, ConsoleColor.Magenta, ConsoleColor.Yellow, ConsoleColor.Blue, ConsoleColor.DarkCyan, ConsoleColor.DarkGreen, ConsoleColor.DarkYellow];

    private readonly Lock _gate = new();
    private readonly Dictionary<string, ConsoleColor> _colors = [];
    private readonly bool _useColor = !Console.IsOutputRedirected;
    private int _width = 12;

    public void Write(ResourceLogLine line)
    {
        lock (_gate)
        {
            if (!_colors.TryGetValue(line.Instance, out var color))
            {
                color = s_palette[_colors.Count % s_palette.Length];
                _colors[line.Instance] = color;
                _width = Math.Max(_width, line.Instance.Length);
            }
            if (_useColor)
            {
                Console.ForegroundColor = color;
            }
            Console.Write(line.Instance.PadRight(_width));
            Console.Write(" | ");
            if (_useColor)
            {
                Console.ResetColor();
            }
            Console.WriteLine(line.Text);
        }
    }
}
