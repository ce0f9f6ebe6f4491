package io.keybroker.backend;

import static org.assertj.core.api.Assertions.assertThat;

import io.keybroker.config.KeybrokerProperties;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;
import org.springframework.core.env.StandardEnvironment;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The registered backend kinds are the one list of backend ids; everything else is checked against them. */
class BackendKindTests {

    private static final Path HELM_SCHEMA = Path.of("..", "helm", "values.schema.json");

    @Test
    void shouldRegisterEachBackendThisBuildCarriesOnceUnderTheIdItsBackendUses() {
        assertThat(BackendKind.registered()).containsOnlyKeys("aws", "file", "vault");
        BackendKind.registered().forEach((id, kind) -> assertThat(kind.id()).isEqualTo(id));
    }

    @Test
    void shouldOfferInTheHelmSchemaExactlyTheRegisteredBackendIds() throws IOException {
        JsonNode schema = JsonMapper.builder().build().readTree(Files.readString(HELM_SCHEMA));
        List<String> offered = new ArrayList<>();
        schema.at("/properties/config/properties/backend/enum").forEach(id -> offered.add(id.asString()));

        assertThat(offered).as("helm/values.schema.json config.backend enum")
                .containsExactlyInAnyOrderElementsOf(BackendKind.registered().keySet());
    }

    @Test
    void shouldPutEveryRegisteredBackendInTheReadinessGroupUnlessTheOperatorSetsIt() {
        StandardEnvironment environment = new StandardEnvironment();
        new BackendReadinessGroup().postProcessEnvironment(environment, null);
        assertThat(environment.getProperty(BackendReadinessGroup.INCLUDE))
                .isEqualTo("readinessState," + String.join(",", BackendKind.registered().keySet()));

        StandardEnvironment operator = new StandardEnvironment();
        operator.getPropertySources().addFirst(new org.springframework.core.env.MapPropertySource("operator",
                java.util.Map.of(BackendReadinessGroup.INCLUDE, "readinessState")));
        new BackendReadinessGroup().postProcessEnvironment(operator, null);
        assertThat(operator.getProperty(BackendReadinessGroup.INCLUDE)).isEqualTo("readinessState");
    }

    @Test
    void shouldNameTheRegisteredBackendsWhenConfigurationNamesAnotherOne() {
        MapConfigurationPropertySource source = new MapConfigurationPropertySource(java.util.Map.of(
                "keybroker.environment", "prod", "keybroker.backend", "consul"));
        KeybrokerProperties properties = new Binder(source).bindOrCreate("keybroker", KeybrokerProperties.class);

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> SecretLocator.from(properties))
                .hasMessageContaining("keybroker.backend 'consul' is unknown: use one of aws, file, vault");
    }
}
