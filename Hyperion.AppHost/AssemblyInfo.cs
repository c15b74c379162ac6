using System.Runtime.Versioning;

// Process groups, setsid/setpriv and the machine's redis-server and PostgreSQL: the AppHost runs on Linux.
[assembly: SupportedOSPlatform("linux")]
