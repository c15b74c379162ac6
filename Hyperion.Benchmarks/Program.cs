Console.WriteLine("Hyperion.Benchmarks");
