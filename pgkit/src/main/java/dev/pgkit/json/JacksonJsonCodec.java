package dev.pgkit.json;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.InvalidDefinitionException;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.InvalidTypeIdException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.pgkit.PgkitException;

/**
 * The default {@link JsonCodec}, on a Jackson {@link ObjectMapper}.
 *
 * <p>A stored value that cannot be decoded is reported by the target type, the kind of problem and its
 * position, never by its content (a cached value may be a secret): Jackson's messages quote the input, so
 * neither they nor Jackson's exception are passed on.
 */
public final class JacksonJsonCodec implements JsonCodec {
    private final ObjectMapper mapper;

    /** A codec on a mapper with every Jackson module found on the class path (e.g. java.time support). */
    public JacksonJsonCodec() {
        this(JsonMapper.builder().findAndAddModules().build());
    }

    /** A codec on the caller's mapper. */
    public JacksonJsonCodec(ObjectMapper mapper) {
        this.mapper = java.util.Objects.requireNonNull(mapper, "mapper");
    }

    @Override
    public String encode(Object value) {
        try {
            return mapper.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot encode a " + value.getClass().getName() + " as JSON: " + e.getOriginalMessage(), e);
        }
    }

    @Override
    public <T> T decode(String json, Class<T> type) {
        try {
            return mapper.readValue(json, type);
        } catch (JsonProcessingException e) {
            // no cause: Jackson's message (and a logged stack trace with it) would show the stored value
            throw new PgkitException("stored JSON cannot be read as " + type.getName() + ": " + problem(e) + position(e.getLocation())
                    + " (the stored value is not shown: it may be secret)");
        }
    }

    /** What went wrong, in words that quote nothing of the input. */
    private static String problem(JsonProcessingException e) {
        if (e instanceof StreamReadException && !(e instanceof MismatchedInputException)) {
            return "it is not well-formed JSON";
        }
        if (e instanceof UnrecognizedPropertyException) {
            return "it has a property the type does not declare";
        }
        if (e instanceof InvalidTypeIdException) {
            return "its type id names no known subtype";
        }
        if (e instanceof InvalidFormatException invalid) {
            return "a value has the wrong format for " + typeName(invalid.getTargetType());
        }
        if (e instanceof MismatchedInputException mismatched) {
            return "a value does not fit " + typeName(mismatched.getTargetType());
        }
        if (e instanceof InvalidDefinitionException invalid) {
            return "Jackson cannot construct " + typeName(invalid.getType() == null ? null : invalid.getType().getRawClass())
                    + " (no usable constructor, creator or deserializer)";
        }
        if (e instanceof ValueInstantiationException instantiation) {
            return "the constructor or factory of " + typeName(instantiation.getType() == null ? null : instantiation.getType().getRawClass())
                    + " failed";
        }
        return "it cannot be mapped (" + e.getClass().getSimpleName() + ")";
    }

    private static String typeName(Class<?> type) {
        return type == null ? "the expected type" : type.getTypeName();
    }

    private static String position(JsonLocation location) {
        if (location == null || location.getLineNr() < 0) {
            return "";
        }
        return " at line " + location.getLineNr() + ", column " + location.getColumnNr();
    }
}
