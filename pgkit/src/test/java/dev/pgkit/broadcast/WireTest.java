package dev.pgkit.broadcast;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pgkit.json.JacksonJsonCodec;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.msgpack.core.MessageBufferPacker;
import org.msgpack.core.MessagePack;

/** The wire format's shortcuts give exactly what the plain encodings give. */
class WireTest {
    private static final String ALPHABET = "ab\"\\\n\u00e9\u4e2d\ud83d\ude00 ";

    private static String text(Random random, int length) {
        StringBuilder s = new StringBuilder();
        while (s.length() < length) {
            int i = random.nextInt(ALPHABET.length());
            char c = ALPHABET.charAt(i);
            if (Character.isHighSurrogate(c)) {
                s.append(c).append(ALPHABET.charAt(i + 1));
            } else if (!Character.isLowSurrogate(c)) {
                s.append(c);
            }
        }
        return s.toString();
    }

    @Test
    void aMessageSpillsExactlyWhenItsJsonIsOverTheThresholdOrPostgresWouldRefuseIt() {
        Random random = new Random(7);
        for (int threshold : List.of(100, 7_000, 8_000, 20_000)) {
            for (int round = 0; round < 400; round++) {
                int target = threshold + random.nextInt(400) - 300;
                ArrayNode data = Wire.NODES.arrayNode();
                data.add("event");
                int parts = 1 + random.nextInt(3);
                for (int p = 0; p < parts; p++) {
                    data.add(text(random, Math.max(0, target / parts / (1 + random.nextInt(3)))));
                }
                data.add(random.nextLong());
                ObjectNode packet = Wire.NODES.objectNode().set("packet", data);
                Outgoing message = Outgoing.of("c", Wire.SERVER_SIDE_EMIT, packet, "uid", "/", threshold);

                ObjectNode envelope = Wire.NODES.objectNode().put("type", Wire.SERVER_SIDE_EMIT);
                envelope.set("data", packet);
                envelope.put("uid", "uid").put("nsp", "/");
                int jsonBytes = Wire.json(envelope).getBytes(StandardCharsets.UTF_8).length;
                boolean inline = jsonBytes <= threshold && jsonBytes < Wire.NOTIFY_LIMIT;
                assertThat(message.spilled()).as("JSON of %d bytes, threshold %d", jsonBytes, threshold).isEqualTo(!inline);
                if (inline) {
                    assertThat(message.inline()).isEqualTo(Wire.json(envelope));
                } else {
                    assertThat(Wire.json(Wire.fromMsgpack(message.attachment()))).isEqualTo(Wire.json(envelope));
                }
            }
        }
    }

    @Test
    void longStringsPackAsMsgpackCorePacksThemAndReadBack() throws Exception {
        Random random = new Random(11);
        for (int length : List.of(0, 1, 511, 512, 513, 4_096, 70_000)) {
            String s = text(random, length);
            JsonNode node = Wire.NODES.objectNode().put(s, s);
            try (MessageBufferPacker reference = MessagePack.newDefaultBufferPacker()) {
                reference.packMapHeader(1).packString(s).packString(s);
                assertThat(Wire.msgpack(node)).as("length %d", length).isEqualTo(reference.toByteArray());
            }
            assertThat(Wire.fromMsgpack(Wire.msgpack(node))).isEqualTo(node);
        }
    }

    @Test
    void stringsConvertAsTheCodecWouldWriteThemAndOtherValuesGoThroughTheCodec() {
        JacksonJsonCodec codec = new JacksonJsonCodec();
        for (String value : List.of("x\"\u00e9\ud83d\ude00", "", "\n\u0000")) {
            assertThat(Wire.json(Wire.toNode(value, codec, "value"))).as("%s", value).isEqualTo(codec.encode(value));
        }
        JacksonJsonCodec numbersAsStrings = new JacksonJsonCodec(new com.fasterxml.jackson.databind.ObjectMapper()
                .configure(com.fasterxml.jackson.core.JsonGenerator.Feature.WRITE_NUMBERS_AS_STRINGS, true));
        assertThat(Wire.json(Wire.toNode(9007199254740993L, numbersAsStrings, "value"))).as("the application's codec decides")
                .isEqualTo("\"9007199254740993\"");
    }
}
