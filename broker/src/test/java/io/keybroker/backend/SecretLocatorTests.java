package io.keybroker.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keybroker.config.KeybrokerProperties;
import io.keybroker.config.KeybrokerProperties.MappingProperties;
import io.keybroker.secret.SecretName;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class SecretLocatorTests {

    private static KeybrokerProperties props(String env, String backend, MappingProperties... mappings) {
        return new KeybrokerProperties(env, backend, false, Path.of("x"), List.of(mappings));
    }

    @Test
    void shouldMapByDefaultToEnvironmentPrefixedPath() {
        SecretLocator locator = SecretLocator.from(props("prod", "vault"));
        SecretLocation location = locator.locate(SecretName.parse("stripe/secret-key"));
        assertThat(location.backend()).isEqualTo(new BackendLocation("vault", "prod/stripe/secret-key", null));
        assertThat(location.propertyName()).isEqualTo("stripe.secret-key");
        assertThat(SecretLocator.from(props("prod", "aws")).locate(SecretName.parse("a/b")).backend())
                .isEqualTo(new BackendLocation("aws", "prod/a/b", null));
    }

    @Test
    void shouldPreferExactNameOverLongerPrefixOverShorterPrefix() {
        SecretLocator locator = SecretLocator.from(props("staging", "file",
                new MappingProperties(null, "stripe", "vault", null, null, null),
                new MappingProperties(null, "stripe/restricted", "aws", "{environment}/payments/{rest}", null,
                        "payments.{rest}"),
                new MappingProperties("stripe/restricted/special", null, "file", "{environment}/special", null,
                        "special.key")));
        assertThat(locator.locate(SecretName.parse("stripe/secret-key")).backend())
                .isEqualTo(new BackendLocation("vault", "staging/stripe/secret-key", null));
        SecretLocation reporting = locator.locate(SecretName.parse("stripe/restricted/reporting/eu"));
        assertThat(reporting.backend()).isEqualTo(new BackendLocation("aws", "staging/payments/reporting/eu", null));
        assertThat(reporting.propertyName()).isEqualTo("payments.reporting.eu");
        assertThat(locator.locate(SecretName.parse("stripe/restricted/special")).backend().path())
                .isEqualTo("staging/special");
        assertThat(locator.locate(SecretName.parse("other/x")).backend())
                .isEqualTo(new BackendLocation("file", "staging/other/x", null));
    }

    @Test
    void shouldRefuseAPathTemplateThatLeavesTheEnvironment() {
        assertThatThrownBy(() -> SecretLocator.from(props("staging", "vault",
                new MappingProperties(null, "stripe", null, "prod/{name}", null, null))))
                .hasMessageContaining("keybroker.mappings[0].path").hasMessageContaining("{environment}/");
    }

    @Test
    void shouldListEveryConfigurationProblemWithTheProperty() {
        assertThatThrownBy(() -> SecretLocator.from(props(null, "consul",
                new MappingProperties("a", "b", null, null, null, null),
                new MappingProperties(null, "Bad/Prefix", null, null, null, null))))
                .hasMessageContaining("keybroker.environment is not set")
                .hasMessageContaining("keybroker.backend 'consul'")
                .hasMessageContaining("keybroker.mappings[0]: set exactly one")
                .hasMessageContaining("keybroker.mappings[1].prefix");
    }
}
