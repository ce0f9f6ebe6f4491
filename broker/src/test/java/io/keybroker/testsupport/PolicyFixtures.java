package io.keybroker.testsupport;

/**
 * The policy files the tests share, built from the example of docs/policy.md, so that a test that needs "the
 * payments policy" writes it once and a test that needs a variant says only what differs.
 */
public final class PolicyFixtures {

    public static final String CHECKOUT = "spiffe://cluster.local/ns/payments/sa/checkout";

    /** The checkout entry of docs/policy.md: both stages of the Stripe key, the webhook secret's current one. */
    public static final String CHECKOUT_ENTRY = """
                - identity: spiffe://cluster.local/ns/payments/sa/checkout
                  application: checkout
                  rateLimit: 100/s
                  allow:
                    - secrets: [stripe/secret-key]
                      stages: [current, previous]
                    - secrets: [stripe/webhook-secret]
                      stages: [current]
            """;

    /** An entry for every workload of the payments namespace: the shared settings, one level below shared/. */
    public static final String NAMESPACE_ENTRY = """
                - identity: spiffe://cluster.local/ns/payments/*
                  application: payments-shared
                  rateLimit: 1000/m
                  allow:
                    - secrets: [shared/*]
                      stages: [current]
            """;

    /** The file {@code payments.yaml} with the checkout entry only. */
    public static final String PAYMENTS = policy("payments", CHECKOUT_ENTRY);

    /** The file {@code payments.yaml} with the checkout entry and the namespace entry. */
    public static final String PAYMENTS_WITH_NAMESPACE = policy("payments", CHECKOUT_ENTRY, NAMESPACE_ENTRY);

    private PolicyFixtures() {
    }

    /** A whole policy file: the header with {@code metadata.name}, then the workload entries as given. */
    public static String policy(String name, String... entries) {
        return """
                apiVersion: keybroker/v1
                kind: Policy
                metadata:
                  name: %s
                spec:
                  workloads:
                """.formatted(name) + String.join("", entries);
    }
}
