using System.Runtime.Versioning;

// The tests drive the AppHost, which runs on Linux only (process groups, the machine's Redis and PostgreSQL).
[assembly: SupportedOSPlatform("linux")]
