using System.Runtime.CompilerServices;

// The archive benchmark drives the verifier directly (bench/Fleet.Bench.Archive).
[assembly: InternalsVisibleTo("Fleet.Bench.Archive")]
