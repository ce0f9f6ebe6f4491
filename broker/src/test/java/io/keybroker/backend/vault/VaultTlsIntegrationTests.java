package io.keybroker.backend.vault;

import static io.keybroker.backend.vault.VaultFixtures.location;
import static io.keybroker.backend.vault.VaultFixtures.properties;
import static io.keybroker.backend.vault.VaultFixtures.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keybroker.backend.BackendUnavailableException;
import io.keybroker.testsupport.OpenBaoServer;
import java.io.OutputStream;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.springframework.cloud.vault.config.VaultProperties;
import org.springframework.cloud.vault.config.VaultProperties.AuthenticationMethod;
import org.springframework.core.io.FileSystemResource;

/**
 * TLS to Vault: a real OpenBao with a TLS listener and its own CA ({@code -dev-tls}), trusted through
 * {@code spring.cloud.vault.ssl.trust-store} as a PEM file, and CERT login with a client certificate made by the
 * test (PKCS12 in {@code spring.cloud.vault.ssl.key-store}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VaultTlsIntegrationTests {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String KEY_STORE_PASSWORD = "changeit-test";

    private OpenBaoServer server;
    private Path clientKeyStore;

    @BeforeAll
    void start() throws Exception {
        server = OpenBaoServer.startTls("tls");
        OpenBaoServer.Admin admin = server.admin();
        VaultFixtures.seedBrokerAccess(admin);
        admin.kvPut("prod/tls/key", Map.of("value", "sk_over_tls"));

        // A client CA of the test, trusted by OpenBao's cert auth method for the broker's role.
        KeyPair caKeys = rsa();
        X509Certificate ca = certificate("CN=Keybroker test client CA", caKeys, "CN=Keybroker test client CA",
                caKeys, true);
        KeyPair clientKeys = rsa();
        X509Certificate client = certificate("CN=keybroker", clientKeys, "CN=Keybroker test client CA", caKeys, false);
        clientKeyStore = server.workDir().resolve("client.p12");
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null);
        store.setKeyEntry("keybroker", clientKeys.getPrivate(), KEY_STORE_PASSWORD.toCharArray(),
                new Certificate[] {client, ca});
        try (OutputStream out = Files.newOutputStream(clientKeyStore)) {
            store.store(out, KEY_STORE_PASSWORD.toCharArray());
        }
        admin.enableAuth("cert", "cert");
        admin.call("POST", "auth/cert/certs/keybroker", Map.of("certificate", pem(ca), "allowed_common_names",
                List.of("keybroker"), "token_policies", List.of(VaultFixtures.BROKER_POLICY), "token_ttl", "1h"));
    }

    @AfterAll
    void stop() {
        server.close();
    }

    @Test
    void shouldTalkTlsToVaultTrustingItsCaFromAPemTrustStore() {
        String token = server.admin().createToken(Map.of("policies", List.of(VaultFixtures.BROKER_POLICY)));
        VaultProperties vault = VaultFixtures.token(server.address(), token);
        trustVaultCa(vault);

        try (VaultConnection connection = VaultConnection.create(vault, properties())) {
            VaultSecretBackend backend = new VaultSecretBackend(connection, Clock.systemUTC());

            assertThat(text(backend.read(location("prod/tls/key")).block(WAIT).current().value()))
                    .isEqualTo("sk_over_tls");
        }
    }

    @Test
    void shouldNameTheTrustStorePropertyWhenVaultsCertificateIsNotTrusted() {
        String token = server.admin().createToken(Map.of("policies", List.of(VaultFixtures.BROKER_POLICY)));

        try (VaultConnection connection = VaultConnection.create(VaultFixtures.token(server.address(), token),
                properties())) {
            assertThatThrownBy(() -> new VaultSecretBackend(connection, Clock.systemUTC()).checkHealth().block(WAIT))
                    .isInstanceOf(BackendUnavailableException.class)
                    .hasMessageContaining("TLS handshake with Vault at " + server.address())
                    .hasMessageContaining("spring.cloud.vault.ssl.trust-store")
                    .hasMessageNotContaining(token);
        }
    }

    @Test
    void shouldLogInWithAClientCertificate() {
        VaultProperties vault = new VaultProperties();
        vault.setUri(server.address());
        vault.setAuthentication(AuthenticationMethod.CERT);
        trustVaultCa(vault);
        vault.getSsl().setKeyStore(new FileSystemResource(clientKeyStore));
        vault.getSsl().setKeyStorePassword(KEY_STORE_PASSWORD);
        vault.getSsl().setKeyStoreType("PKCS12");
        vault.getSsl().setRole("keybroker");

        try (VaultConnection connection = VaultConnection.create(vault, properties())) {
            VaultSecretBackend backend = new VaultSecretBackend(connection, Clock.systemUTC());

            backend.checkHealth().block(WAIT);
            assertThat(text(backend.read(location("prod/tls/key")).block(WAIT).current().value()))
                    .isEqualTo("sk_over_tls");
            assertThatThrownBy(() -> backend.read(location("staging/tls/key")).block(WAIT))
                    .isInstanceOf(BackendUnavailableException.class)
                    .hasMessageContaining("secret/data/staging/*");
        }
    }

    private void trustVaultCa(VaultProperties vault) {
        vault.getSsl().setTrustStore(new FileSystemResource(server.caCertificate()));
        vault.getSsl().setTrustStoreType("PEM");
    }

    private static KeyPair rsa() throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
        generator.initialize(2048);
        return generator.generateKeyPair();
    }

    private static X509Certificate certificate(String subject, KeyPair subjectKeys, String issuer, KeyPair issuerKeys,
            boolean ca) throws Exception {
        Instant now = Instant.now();
        JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(new X500Name(issuer),
                BigInteger.valueOf(now.toEpochMilli()), Date.from(now.minusSeconds(60)),
                Date.from(now.plus(Duration.ofDays(1))), new X500Name(subject), subjectKeys.getPublic());
        builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
        if (ca) {
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        } else {
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            builder.addExtension(Extension.extendedKeyUsage, false,
                    new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth));
        }
        return new JcaX509CertificateConverter().getCertificate(builder.build(
                new JcaContentSignerBuilder("SHA256withRSA").build(issuerKeys.getPrivate())));
    }

    private static String pem(X509Certificate certificate) throws Exception {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
            writer.writeObject(certificate);
        }
        return out.toString();
    }
}
