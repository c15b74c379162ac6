namespace Hyperion.Tests;
