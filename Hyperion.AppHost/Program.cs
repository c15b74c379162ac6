Console.WriteLine("Hyperion.AppHost");
