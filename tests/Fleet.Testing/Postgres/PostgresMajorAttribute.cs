using System.Reflection;
using Fleet.LocalFleet.Postgres;
using Xunit.Sdk;

namespace Fleet.Testing.Postgres;

/// <summary>
/// One theory row for a PostgreSQL major version: <c>[Theory, PostgresMajor(13), PostgresMajor(18)]</c> passes
/// the major as the test's argument. Where that version's binaries are absent
/// (<see cref="PostgresInstallation.FindBinDirectory"/>) the row is skipped with a message saying how to fetch
/// them, unless <see cref="RequiredVariable"/> is 1 (scripts/test.sh sets it after fetching): then the row
/// runs and fails, so CI never skips silently.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class PostgresMajorAttribute : DataAttribute
{
    public const string RequiredVariable = "FLEET_PG_VERSIONS_REQUIRED";

    public PostgresMajorAttribute(int major)
    {
        Major = major;
        // Evaluated at discovery: xunit 2 has no skip from inside a running test, but honours a data attribute's Skip.
        if (PostgresInstallation.FindBinDirectory(major) is null && Environment.GetEnvironmentVariable(RequiredVariable) != "1")
        {
            Skip = $"PostgreSQL {major} binaries are not installed here: run scripts/fetch-postgres.sh {major} " +
                $"(or scripts/install-deps.sh --pg-versions); ${RequiredVariable}=1 turns this skip into a failure.";
        }
    }

    public int Major { get; }

    public override IEnumerable<object[]> GetData(MethodInfo testMethod) => [[Major]];
}
