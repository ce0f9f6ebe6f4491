package io.keybroker.backend.vault;

import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.vault.authentication.ReactiveSessionManager;
import org.springframework.vault.support.VaultToken;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * A {@link ReactiveSessionManager} that can start over: it delegates to a fresh Spring Vault session manager
 * (normally a {@link org.springframework.vault.authentication.ReactiveLifecycleAwareSessionManager}, which
 * renews the token before it expires and logs in again when renewal no longer helps), and replaces that
 * delegate with a new one when
 * <ul>
 *   <li>a login failed: Spring Vault's reactive session manager caches a failed login and would replay the
 *       error for ever (spring-cloud/spring-cloud-vault#940, spring-projects/spring-vault#1006), so a Vault
 *       that was down or a credential that was missing at start would never recover without a restart;</li>
 *   <li>Vault no longer accepts the token (revoked, expired between renewals): {@link VaultConnection} sees a
 *       403 whose token fails {@code auth/token/lookup-self} and calls {@link #reset(Object)}.</li>
 * </ul>
 * The next request then logs in again with the configured method.
 */
final class ResettableSessionManager implements ReactiveSessionManager, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ResettableSessionManager.class);

    private final Supplier<ReactiveSessionManager> factory;
    private final AtomicReference<ReactiveSessionManager> current;
    private volatile boolean closed;

    ResettableSessionManager(Supplier<ReactiveSessionManager> factory) {
        this.factory = factory;
        this.current = new AtomicReference<>(factory.get());
    }

    @Override
    public Mono<VaultToken> getVaultToken() {
        ReactiveSessionManager session = current.get();
        return session.getVaultToken().onErrorResume(error -> {
            reset(session);
            return Mono.error(error);
        });
    }

    /** An opaque handle of the current session, to pass to {@link #reset(Object)} after a call failed with it. */
    Object generation() {
        return current.get();
    }

    /**
     * Drops the session of {@code generation} if it is still the current one, so the next call logs in afresh.
     * Concurrent callers that saw the same failing session cause one new login, not one each.
     */
    void reset(Object generation) {
        if (closed || !(generation instanceof ReactiveSessionManager old)) {
            return;
        }
        if (current.compareAndSet(old, factory.get())) {
            log.info("Vault session dropped; the next request logs in again");
            dispose(old);
        }
    }

    @Override
    public void close() {
        closed = true;
        ReactiveSessionManager session = current.get();
        if (session instanceof DisposableBean disposable) {
            try {
                // Revokes a token this broker obtained by logging in (not a configured token), so it does not
                // outlive the broker.
                disposable.destroy();
            } catch (Exception ex) {
                log.debug("Vault session could not be closed cleanly: {}", ex.getClass().getName());
            }
        }
    }

    private static void dispose(ReactiveSessionManager old) {
        if (old instanceof DisposableBean disposable) {
            // destroy() stops the renewal schedule and revokes the token, blocking up to 5 seconds: never on an
            // event-loop thread.
            Mono.fromRunnable(() -> {
                try {
                    disposable.destroy();
                } catch (Exception ex) {
                    log.debug("Old Vault session could not be revoked: {}", ex.getClass().getName());
                }
            }).subscribeOn(Schedulers.boundedElastic()).subscribe();
        }
    }
}
