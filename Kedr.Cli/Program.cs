Console.WriteLine("kedr");
