package io.keybroker.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keybroker.identity.WorkloadIdentity;
import io.keybroker.testsupport.PolicyFixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class RateLimiterTests {

    private static final WorkloadIdentity CHECKOUT =
            WorkloadIdentity.spiffe("spiffe://cluster.local/ns/payments/sa/checkout");
    private static final WorkloadIdentity REFUNDS = WorkloadIdentity.spiffe("spiffe://cluster.local/ns/payments/sa/refunds");
    private static final WorkloadIdentity BILLING = WorkloadIdentity.spiffe("spiffe://cluster.local/ns/payments/sa/billing");
    private static final WorkloadIdentity UNLIMITED = WorkloadIdentity.spiffe("spiffe://cluster.local/ns/batch/sa/nightly");
    private static final WorkloadIdentity UNKNOWN = WorkloadIdentity.spiffe("spiffe://example.org/x");

    @TempDir
    Path dir;

    private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
    private final AtomicReference<PolicySet> policy = new AtomicReference<>();
    private RateLimiter limiter;

    private PolicySet load(String checkoutLimit) throws IOException {
        Files.writeString(dir.resolve("payments.yaml"), PolicyFixtures.policy("payments", """
                    - identity: spiffe://cluster.local/ns/payments/sa/checkout
                      application: checkout
                      rateLimit: %s
                      allow:
                        - secrets: [stripe/secret-key]
                          stages: [current]
                    - identity: spiffe://cluster.local/ns/payments/*
                      application: payments
                      rateLimit: 2/m
                      allow:
                        - secrets: [shared/*]
                          stages: [current]
                    - identity: spiffe://cluster.local/ns/batch/sa/nightly
                      application: nightly
                      allow:
                        - secrets: [shared/*]
                          stages: [current]
                """.formatted(checkoutLimit)));
        return new PolicyLoader().load(dir);
    }

    @BeforeEach
    void setUp() throws IOException {
        policy.set(load("3/s"));
        limiter = new RateLimiter(policy::get, nanos::get);
    }

    private void advance(Duration d) {
        nanos.addAndGet(d.toNanos());
    }

    @Test
    void shouldAllowABurstUpToTheLimitThenRefuse() {
        assertThat(limiter.tryAcquire(CHECKOUT)).isTrue();
        assertThat(limiter.tryAcquire(CHECKOUT)).isTrue();
        assertThat(limiter.tryAcquire(CHECKOUT)).isTrue();
        assertThat(limiter.tryAcquire(CHECKOUT)).isFalse();
        assertThat(limiter.retryAfter(CHECKOUT)).isEqualTo(Duration.ofNanos(333_333_334));
    }

    @Test
    void shouldTakeSeveralPermitsAtOnceOrNone() {
        assertThat(limiter.tryAcquire(CHECKOUT, 2)).isTrue();
        assertThat(limiter.tryAcquire(CHECKOUT, 2)).isFalse(); // one left: nothing is taken
        assertThat(limiter.tryAcquire(CHECKOUT)).isTrue();
        advance(Duration.ofHours(1));
        assertThat(limiter.tryAcquire(CHECKOUT, 4)).isFalse(); // more than the limit allows per period, ever
        assertThat(limiter.tryAcquire(CHECKOUT, 3)).isTrue();
    }

    @Test
    void shouldRefillContinuouslyAtTheConfiguredRate() {
        for (int i = 0; i < 3; i++) {
            limiter.tryAcquire(CHECKOUT);
        }
        advance(Duration.ofMillis(300));
        assertThat(limiter.tryAcquire(CHECKOUT)).isFalse();
        advance(Duration.ofMillis(34));
        assertThat(limiter.tryAcquire(CHECKOUT)).isTrue();
        assertThat(limiter.tryAcquire(CHECKOUT)).isFalse();
        advance(Duration.ofHours(1));
        // Never more than one period's worth at once.
        assertThat(limiter.tryAcquire(CHECKOUT)).isTrue();
        assertThat(limiter.tryAcquire(CHECKOUT)).isTrue();
        assertThat(limiter.tryAcquire(CHECKOUT)).isTrue();
        assertThat(limiter.tryAcquire(CHECKOUT)).isFalse();
    }

    @Test
    void shouldShareAPrefixEntrysBucketAmongItsIdentities() {
        assertThat(limiter.tryAcquire(REFUNDS)).isTrue();
        assertThat(limiter.tryAcquire(BILLING)).isTrue();
        assertThat(limiter.tryAcquire(REFUNDS)).isFalse();
        assertThat(limiter.tryAcquire(BILLING)).isFalse();
        // checkout has its own, more specific entry and bucket.
        assertThat(limiter.tryAcquire(CHECKOUT)).isTrue();
        advance(Duration.ofSeconds(30));
        assertThat(limiter.tryAcquire(BILLING)).isTrue();
        assertThat(limiter.tryAcquire(REFUNDS)).isFalse();
    }

    @Test
    void shouldLimitEachIdentityWithoutAPolicyEntry() {
        RateLimiter guarded = new RateLimiter(policy::get, nanos::get, RateLimit.parse("5/s"));
        WorkloadIdentity other = WorkloadIdentity.spiffe("spiffe://example.org/y");
        for (int i = 0; i < 5; i++) {
            assertThat(guarded.tryAcquire(UNKNOWN)).isTrue();
        }
        assertThat(guarded.tryAcquire(UNKNOWN)).isFalse();
        assertThat(guarded.retryAfter(UNKNOWN)).isEqualTo(Duration.ofMillis(200));
        assertThat(guarded.unknown(UNKNOWN)).isTrue();
        assertThat(guarded.unknown(CHECKOUT)).isFalse();
        assertThat(guarded.tryAcquire(other)).isTrue();
        // Entries without a limit stay unlimited: only the absence of an entry falls back to the default.
        for (int i = 0; i < 100; i++) {
            assertThat(guarded.tryAcquire(UNLIMITED)).isTrue();
        }
        advance(Duration.ofMillis(200));
        assertThat(guarded.tryAcquire(UNKNOWN)).isTrue();
    }

    @Test
    void shouldBoundTheTableOfUnknownIdentitiesAndShareOneBucketBeyondIt() {
        RateLimiter guarded = new RateLimiter(policy::get, nanos::get, RateLimit.parse("1/h"));
        for (int i = 0; i < RateLimiter.MAX_UNKNOWN; i++) {
            assertThat(guarded.tryAcquire(WorkloadIdentity.spiffe("spiffe://example.org/flood/" + i))).isTrue();
        }
        assertThat(guarded.unknownSize()).isEqualTo(RateLimiter.MAX_UNKNOWN);
        // Beyond the table, every new identity draws from one shared bucket: cycling names buys one request.
        assertThat(guarded.tryAcquire(WorkloadIdentity.spiffe("spiffe://example.org/more/1"))).isTrue();
        for (int i = 2; i < 5_000; i++) {
            assertThat(guarded.tryAcquire(WorkloadIdentity.spiffe("spiffe://example.org/more/" + i))).isFalse();
        }
        assertThat(guarded.unknownSize()).isEqualTo(RateLimiter.MAX_UNKNOWN);
        // Once the table's identities are idle (their buckets full again), they make room for new ones.
        advance(Duration.ofHours(1));
        assertThat(guarded.tryAcquire(WorkloadIdentity.spiffe("spiffe://example.org/later"))).isTrue();
        assertThat(guarded.unknownSize()).isEqualTo(1);
    }

    @Test
    void shouldNotLimitWorkloadsWithoutALimitOrWithoutAnEntry() {
        for (int i = 0; i < 10_000; i++) {
            assertThat(limiter.tryAcquire(UNLIMITED)).isTrue();
            assertThat(limiter.tryAcquire(UNKNOWN)).isTrue();
        }
        assertThat(limiter.retryAfter(UNLIMITED)).isZero();
        assertThat(limiter.size()).isZero();
    }

    @Test
    void shouldKeepBucketsAcrossAReloadWhenTheLimitIsUnchanged() throws IOException {
        for (int i = 0; i < 3; i++) {
            limiter.tryAcquire(CHECKOUT);
        }
        PolicySet reloaded = load("3/s");
        policy.set(reloaded);
        limiter.reloaded(reloaded);
        assertThat(limiter.tryAcquire(CHECKOUT)).isFalse();
    }

    @Test
    void shouldStartAFreshBucketWhenTheLimitChanges() throws IOException {
        for (int i = 0; i < 3; i++) {
            limiter.tryAcquire(CHECKOUT);
        }
        PolicySet reloaded = load("5/s");
        policy.set(reloaded);
        limiter.reloaded(reloaded);
        for (int i = 0; i < 5; i++) {
            assertThat(limiter.tryAcquire(CHECKOUT)).isTrue();
        }
        assertThat(limiter.tryAcquire(CHECKOUT)).isFalse();
    }

    @Test
    void shouldDropBucketsOfEntriesThatDisappear() throws IOException {
        limiter.tryAcquire(CHECKOUT);
        limiter.tryAcquire(REFUNDS);
        assertThat(limiter.size()).isEqualTo(2);
        PolicySet reloaded = load("7/s");
        policy.set(reloaded);
        limiter.reloaded(reloaded);
        assertThat(limiter.size()).isEqualTo(1);
    }

    @ParameterizedTest
    @CsvSource({"100/s, 100, PT1S", "6000/m, 6000, PT1M", "1/h, 1, PT1H", "1000000000/s, 1000000000, PT1S"})
    void shouldParseTheRateLimitGrammar(String text, long permits, Duration period) {
        assertThat(RateLimit.parse(text)).isEqualTo(new RateLimit(permits, period));
        assertThat(RateLimit.parse(text)).hasToString(text);
    }

    @ParameterizedTest
    @ValueSource(strings = {"0/s", "-1/s", "100", "100/", "/s", "100/d", "100/sec", "100 /s", "1e3/s", "0100/s",
        "1000000001/s", "99999999999/s", "100/S"})
    void shouldRejectRateLimitsOutsideTheGrammar(String text) {
        assertThatThrownBy(() -> RateLimit.parse(text)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("write COUNT/UNIT");
    }
}
