using System.Runtime.Versioning;

// setpriv, unix file modes and the machine's redis-server and PostgreSQL: the AppHost runs the graph on Linux.
[assembly: SupportedOSPlatform("linux")]
