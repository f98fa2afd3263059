// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The password database for the statically linked tools (STATIC=1).
 *
 * readline's ~user expansion and user-name completion in `upcallctl shell`
 * call getpwnam() and friends.  glibc answers those through NSS modules,
 * which a static binary can only load from the very glibc it was linked
 * with.  These read /etc/passwd with fgetpwent(3) instead: a VM host's
 * local accounts, and no dependency on the host's glibc at all.
 */
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

static FILE *db;	/* the getpwent() iteration */

void setpwent(void)
{
	if (db)
		rewind(db);
	else
		db = fopen("/etc/passwd", "re");
}

void endpwent(void)
{
	if (db)
		fclose(db);
	db = NULL;
}

struct passwd *getpwent(void)
{
	if (!db)
		setpwent();
	return db ? fgetpwent(db) : NULL;
}

/* fgetpwent()'s result lives in glibc's static buffer, not in the FILE. */
static struct passwd *lookup(const char *name, uid_t uid)
{
	FILE *f = fopen("/etc/passwd", "re");
	struct passwd *pw;

	if (!f)
		return NULL;
	while ((pw = fgetpwent(f)))
		if (name ? !strcmp(pw->pw_name, name) : pw->pw_uid == uid)
			break;
	fclose(f);
	return pw;
}

struct passwd *getpwnam(const char *name)
{
	return lookup(name, 0);
}

struct passwd *getpwuid(uid_t uid)
{
	return lookup(NULL, uid);
}
