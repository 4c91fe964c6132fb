using System.Security.Cryptography.X509Certificates;

namespace Fleet.Agent.Api;

/// <summary>
/// Who may call AgentService's operator methods (Promote, Fence, Follow, Rejoin); the same rule as the
/// aggregator's FleetService.Switchover. Under mutual TLS only client certificates whose subject has
/// exactly one OU, "operators", are allowed (agents' certificates carry their region in OU, so an agent
/// or anything else holding a certificate of the fleet CA cannot change roles); the actor is the
/// certificate's CN. Without TLS (development) anyone who reaches the port is allowed and recorded by the
/// name they give and their address.
/// </summary>
internal static class OperatorAuthorizer
{
    public const string OperatorsUnit = "operators";

    private const string OrganizationalUnitOid = "2.5.4.11";
    private const string CommonNameOid = "2.5.4.3";

    /// <summary>The decision on one call: the actor to audit, and the reason it is refused (null when allowed).</summary>
    public readonly record struct Decision(string Actor, string? Denied);

    /// <param name="certificate">The client's certificate (mutual TLS), or null.</param>
    /// <param name="tls">The call came over TLS (a TLS call without a client certificate is refused).</param>
    /// <param name="statedOperator">operator.operator of the request: who the caller says they are.</param>
    /// <param name="peer">The caller's address.</param>
    public static Decision Decide(X509Certificate2? certificate, bool tls, string? statedOperator, string peer)
    {
        if (certificate is not null)
        {
            var subject = ReadSubject(certificate.SubjectName);
            var actor = subject.CommonNames is [var name] ? name : certificate.Subject;
            if (subject.MultiValued)
            {
                return new(actor, $"certificate '{certificate.Subject}' has a multi-valued name component; operators' certificates must not");
            }

            return subject.Units is [OperatorsUnit]
                ? new(actor, null)
                : new(actor, $"certificate '{certificate.Subject}' is not an operator's (it must have OU={OperatorsUnit} and no other OU)");
        }

        if (tls)
        {
            return new($"unknown@{peer}", "a client certificate is required (mutual TLS)");
        }

        var who = string.IsNullOrWhiteSpace(statedOperator) ? "anonymous" : statedOperator;
        return new($"{who}@{peer} (unauthenticated: no TLS)", null);
    }

    /// <summary>
    /// Every OU and CN value of a distinguished name, read component by component (never by splitting the
    /// formatted name, whose values may hold commas, "OU=" or quotes). Multi-valued components
    /// (e.g. "OU=a+CN=b") are flagged rather than read.
    /// </summary>
    public static (IReadOnlyList<string> Units, IReadOnlyList<string> CommonNames, bool MultiValued) ReadSubject(X500DistinguishedName name)
    {
        var units = new List<string>();
        var commonNames = new List<string>();
        var multiValued = false;
        foreach (var component in name.EnumerateRelativeDistinguishedNames())
        {
            if (component.HasMultipleElements)
            {
                multiValued = true;
                continue;
            }

            var value = component.GetSingleElementValue();
            switch (component.GetSingleElementType().Value)
            {
                case OrganizationalUnitOid when value is not null:
                    units.Add(value);
                    break;
                case CommonNameOid when value is not null:
                    commonNames.Add(value);
                    break;
            }
        }

        return (units, commonNames, multiValued);
    }
}
