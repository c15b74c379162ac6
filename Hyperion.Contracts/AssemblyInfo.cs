namespace Hyperion.Contracts;
