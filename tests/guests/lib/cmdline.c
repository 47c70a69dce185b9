/*
 * Command-line options: space-separated words, options being key=value. The line is copied once
 * at start-up and split into NUL-terminated words, so values can be returned in place.
 * Double quotes group spaces into a word and are removed: key="a b" has the value "a b".
 */
#include "internal.h"
#include "libguest.h"

#define CMDLINE_MAX 4096

/* Word after word, each NUL-terminated, ended by an empty word. */
static char words[CMDLINE_MAX];

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

void cmdline_init(const char *s)
{
	size_t n = 0;
	const size_t room = sizeof(words) - 2;	/* this word's NUL and the final empty word */

	while (*s) {
		while (is_space(*s))
			s++;
		if (!*s)
			break;
		bool quoted = false;
		for (; *s && (quoted || !is_space(*s)); s++) {
			if (*s == '"')
				quoted = !quoted;
			else if (n < room)
				words[n++] = *s;
		}
		if (n >= room) {
			printf("cmdline: longer than %d bytes, ignoring the rest\n", CMDLINE_MAX);
			break;
		}
		words[n++] = '\0';
	}
	words[n] = '\0';
}

const char *cmdline_get(const char *key)
{
	size_t key_len = strlen(key);

	for (const char *w = words; *w; w += strlen(w) + 1)
		if (!strncmp(w, key, key_len) && w[key_len] == '=')
			return w + key_len + 1;
	return NULL;
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool parse_u64(const char *s, uint64_t *out)
{
	unsigned base = 10;
	uint64_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return false;
	for (; *s; s++) {
		int d = digit_value(*s);
		if (d < 0 || (unsigned)d >= base || v > (UINT64_MAX - (unsigned)d) / base)
			return false;
		v = v * base + (unsigned)d;
	}
	*out = v;
	return true;
}

uint64_t cmdline_get_u64(const char *key, uint64_t def)
{
	const char *s = cmdline_get(key);
	uint64_t v;

	if (!s)
		return def;
	if (!parse_u64(s, &v)) {
		/* A malformed option is a broken test setup: say so and stop. */
		report(false, "option %s=%s is a number", key, s);
		exit(1);
	}
	return v;
}
