namespace Fleet.Testing;

/// <summary>The checkout the tests run from: the first directory above the test assembly that holds Fleet.sln.</summary>
public static class RepositoryRoot
{
    private static readonly Lazy<string> Found = new(Find);

    public static string Path => Found.Value;

    private static string Find()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(directory.FullName, "Fleet.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"Cannot find the repository root (Fleet.sln) above {AppContext.BaseDirectory}");
    }
}
