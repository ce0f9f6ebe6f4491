package io.keybroker.listener;

import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * TLS material of the listener ({@code keybroker.tls.*}), PEM files re-read when they change on disk.
 *
 * @param certificate the server certificate chain (PEM)
 * @param privateKey the server private key (PEM, PKCS#8 or PKCS#1/SEC1, unencrypted)
 * @param trustBundle the CA certificates that client certificates must chain to (PEM)
 * @param allowSubjectCn accept a client certificate without a SPIFFE URI SAN and use its subject CN as the
 *     identity; off by default because a CN is not bound to a trust domain
 * @param reloadInterval how often the files are checked for changes (content digest, so symlink swaps are seen)
 * @param provider the TLS implementation of the listener: {@code auto} (BoringSSL through Netty when its native
 *     library loads on this platform, else the JDK), {@code openssl} (BoringSSL or refuse to start) or {@code jdk}
 *     (the JDK's SSLEngine); the trust and identity checks are the same code on all of them
 */
@ConfigurationProperties("keybroker.tls")
public record TlsProperties(
        Path certificate,
        Path privateKey,
        Path trustBundle,
        @DefaultValue("false") boolean allowSubjectCn,
        @DefaultValue("2s") Duration reloadInterval,
        @DefaultValue("auto") Provider provider) {

    /** See {@link TlsProperties#provider()}. */
    public enum Provider {
        /** BoringSSL when it loads, else the JDK. */
        AUTO,
        /** BoringSSL through netty-tcnative; the broker refuses to start without it. */
        OPENSSL,
        /** The JDK's own TLS stack (SunJSSE). */
        JDK
    }
}
