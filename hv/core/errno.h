/* Error numbers eli returns, negated, upward (Linux values, for familiarity). */
#ifndef ELI_CORE_ERRNO_H
#define ELI_CORE_ERRNO_H
#ifndef EPERM
#define EPERM 1
#define ENOENT 2
#define EIO 5
#define E2BIG 7
#define ENOEXEC 8
#define ENOMEM 12
#define EFAULT 14
#define EBUSY 16
#define EEXIST 17
#define ENODEV 19
#define EINVAL 22
#define ENOSPC 28
#define ERANGE 34
#define ENOSYS 38
#define EOPNOTSUPP 95
#endif
#endif
