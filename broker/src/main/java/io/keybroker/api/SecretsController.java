package io.keybroker.api;

import io.keybroker.cache.EncryptedVersion;
import io.keybroker.cache.SecretCipher;
import io.keybroker.secret.SecretName;
import io.keybroker.secret.Stage;
import java.util.EnumSet;
import java.util.List;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;

/**
 * {@code GET /v1/secrets/{name}}: the current and, inside the grace window, the previous version of a granted
 * secret.
 *
 * <p>The name is taken from the raw, undecoded request path, so a percent-encoded slash or dot can never turn
 * into a path separator after validation. The body is written from the decrypted bytes into one array that is
 * wiped as soon as the connection has taken it.
 */
@RestController
public class SecretsController {

    static final String PREFIX = "/v1/secrets/";

    private final AccessControl access;
    private final SecretReader reader;
    private final SecretCipher cipher;

    public SecretsController(AccessControl access, SecretReader reader, SecretCipher cipher) {
        this.access = access;
        this.reader = reader;
        this.cipher = cipher;
    }

    @GetMapping({"/v1/secrets", "/v1/secrets/", "/v1/secrets/**"})
    public Mono<Void> get(ServerWebExchange exchange) {
        return Mono.defer(() -> {
            AccessAttempt attempt = access.begin(exchange, "v1");
            SecretName name = access.name(attempt, rawName(exchange));
            List<Stage> granted = access.authorize(attempt, name, EnumSet.allOf(Stage.class));
            return reader.read(attempt, name, granted).flatMap(served -> {
                served.recordAllowed(attempt, served.current(), served.previous());
                return write(exchange, served);
            });
        });
    }

    static String rawName(ServerWebExchange exchange) {
        String path = exchange.getRequest().getPath().pathWithinApplication().value();
        return path.length() <= PREFIX.length() ? "" : path.substring(PREFIX.length());
    }

    private Mono<Void> write(ServerWebExchange exchange, SecretReader.Served served) {
        return ResponseBodies.writeSecretJson(exchange, body(served, cipher), served.secret().current().version());
    }

    /**
     * The response body of {@code GET /v1/secrets/{name}}, decrypted into one array the caller wipes once the
     * connection has taken it; also written by {@link DirectSecretRead}.
     */
    static byte[] body(SecretReader.Served served, SecretCipher cipher) {
        SecretJsonWriter json = new SecretJsonWriter(256);
        try {
            json.beginObject().string("name", served.location().name().value());
            if (served.current() != null) {
                version(json, "current", served.current(), cipher);
            }
            if (served.previous() != null) {
                version(json, "previous", served.previous(), cipher);
            }
            json.string("rotatedAt", served.secret().rotatedAt().toString()).endObject();
            return json.toByteArray();
        } finally {
            json.wipe();
        }
    }

    private static void version(SecretJsonWriter json, String member, EncryptedVersion version, SecretCipher cipher) {
        json.beginObject(member).string("version", version.version());
        cipher.withPlaintext(version, plaintext -> {
            json.bytes("value", plaintext);
            return null;
        });
        json.string("createdAt", version.createdAt().toString()).endObject();
    }
}
