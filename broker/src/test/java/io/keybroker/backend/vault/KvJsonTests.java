package io.keybroker.backend.vault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keybroker.backend.SecretFormatException;
import io.keybroker.secret.SecretValue;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class KvJsonTests {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    @Test
    void shouldStreamTheFieldOutOfADataAnswerAsUtf8Bytes() {
        byte[] body = answer("{\"other\":{\"deep\":[1,2]},\"value\":\"sk_\\\"x\\\\y\\u00e9\\ud83d\\udd11\",\"z\":1}");

        SecretValue value = KvJson.field(body, "value", "secret/data/prod/k (version 1)");

        assertThat(value.bytes()).isEqualTo("sk_\"x\\yé🔑".getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void shouldAnswerNullForAVersionWhoseDataIsGone() {
        assertThat(KvJson.field(answer("null"), "value", "p")).isNull();
    }

    @Test
    void shouldNameTheMissingFieldAndTheFieldsPresentButNeverAValue() {
        assertThatThrownBy(() -> KvJson.field(answer("{\"key\":\"sk_live_hidden\",\"other\":\"x\"}"), "value",
                "secret/data/prod/k (version 3)"))
                .isInstanceOf(SecretFormatException.class)
                .hasMessageContaining("secret/data/prod/k (version 3)")
                .hasMessageContaining("no field 'value'")
                .hasMessageContaining("its fields: key, other")
                .hasMessageContaining("keybroker.mappings[i].field")
                .hasMessageNotContaining("sk_live_hidden");
    }

    @Test
    void shouldServeNumbersAndBooleansAsTheirJsonTextLikeTheOtherBackends() {
        assertThat(new String(KvJson.field(answer("{\"value\":42}"), "value", "p").bytes(), StandardCharsets.UTF_8))
                .isEqualTo("42");
        assertThat(new String(KvJson.field(answer("{\"value\":true}"), "value", "p").bytes(),
                StandardCharsets.UTF_8)).isEqualTo("true");
        assertThatThrownBy(() -> KvJson.field(answer("{\"value\":{\"nested\":\"sk_live_hidden\"}}"), "value", "p"))
                .isInstanceOf(SecretFormatException.class)
                .hasMessageContaining("an object, not a string, number or boolean")
                .hasMessageNotContaining("sk_live_hidden");
    }

    @Test
    void shouldRefuseARepeatedKeyWithoutQuotingEitherValue() {
        assertThatThrownBy(() -> KvJson.field(answer("{\"value\":\"sk_live_first\",\"value\":\"sk_live_second\"}"),
                "value", "p"))
                .isInstanceOf(SecretFormatException.class)
                .hasMessageContaining("a key is repeated")
                .hasMessageNotContaining("sk_live_first")
                .hasMessageNotContaining("sk_live_second");
    }

    @Test
    void shouldRefuseAnAnswerThatIsNotKvVersion2() {
        assertThatThrownBy(() -> KvJson.field("{\"data\":{\"value\":\"kv1\"}}".getBytes(StandardCharsets.UTF_8),
                "value", "p")).isInstanceOf(IllegalArgumentException.class).hasMessageNotContaining("kv1");
        assertThatThrownBy(() -> KvJson.field("not json".getBytes(StandardCharsets.UTF_8), "value", "p"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void shouldRefuseAnUnpairedSurrogate() {
        assertThatThrownBy(() -> KvJson.field(answer("{\"value\":\"a\\ud800b\"}"), "value", "p"))
                .isInstanceOf(SecretFormatException.class)
                .hasMessageContaining("not valid Unicode");
    }

    @Test
    void shouldBuildAWriteBodyThatJsonReadsBackExactly() {
        Map<String, SecretValue> fields = new LinkedHashMap<>();
        String tricky = "q\"b\\n\nt\t\u0001\u001f é 🔑";
        fields.put("value", SecretValue.adopt(tricky.getBytes(StandardCharsets.UTF_8)));
        fields.put("na\"me", SecretValue.adopt("x".getBytes(StandardCharsets.UTF_8)));

        byte[] body = KvJson.writeBody(7, fields);

        JsonNode tree = JSON.readTree(body);
        assertThat(tree.path("options").path("cas").asLong()).isEqualTo(7);
        assertThat(tree.path("data").path("value").asString()).isEqualTo(tricky);
        assertThat(tree.path("data").path("na\"me").asString()).isEqualTo("x");
    }

    @Test
    void shouldTellValidUtf8FromInvalid() {
        assertThat(KvJson.isValidUtf8("ascii é € 🔑".getBytes(StandardCharsets.UTF_8))).isTrue();
        assertThat(KvJson.isValidUtf8(new byte[] {(byte) 0xc3, 0x28})).isFalse();
        assertThat(KvJson.isValidUtf8(new byte[] {(byte) 0xc0, (byte) 0x80})).as("overlong").isFalse();
        assertThat(KvJson.isValidUtf8(new byte[] {(byte) 0xed, (byte) 0xa0, (byte) 0x80})).as("surrogate").isFalse();
        assertThat(KvJson.isValidUtf8(new byte[] {(byte) 0xf0, (byte) 0x9f})).as("truncated").isFalse();
    }

    @Test
    void shouldListVaultsErrors() {
        assertThat(KvJson.errors("{\"errors\":[\"permission denied\",\"x\"]}".getBytes(StandardCharsets.UTF_8)))
                .isEqualTo("permission denied; x");
        assertThat(KvJson.errors(new byte[0])).isEmpty();
        assertThat(KvJson.errors("<html>".getBytes(StandardCharsets.UTF_8))).isEmpty();
    }

    private static byte[] answer(String data) {
        return ("{\"request_id\":\"r\",\"lease_id\":\"\",\"data\":{\"data\":" + data + ",\"metadata\":{\"version\":1}},"
                + "\"warnings\":null}").getBytes(StandardCharsets.UTF_8);
    }
}
