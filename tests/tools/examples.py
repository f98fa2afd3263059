#!/usr/bin/env python3
"""Extract the examples of a man page or README.md and run them verbatim.

  examples.py list FILE          the examples, one summary line each
  examples.py file FILE NAME     the text of the example marked as file NAME
  examples.py run FILE           run them, in order, in the current directory

Man pages: every .Dl line and .Bd -literal block of the EXAMPLES section.
A line "$ CMD" is a shell command (a trailing backslash continues it); the
lines after it, up to the next command, are output that must appear, in
order, among the lines CMD prints.  An example without commands needs a
marker comment on the line before it:

  .\\" example-file: NAME          text an example uses (written to NAME in
                                  the current directory before the run)
  .\\" example-record: VM: CMD; ...  a state record: after CMD ... in a fresh
                                  state directory, the record of VM holds
                                  these lines, in order
  .\\" example-text: WHY            shown only, not run, and why

README.md: every indented code block needs one of those markers as an HTML
comment (<!-- example-file: NAME -->, ...) on a line of its own before it,
or <!-- example -->: each line of the block is then a command.

A command ending in "&" runs in the background; when it names a socket
(-s PATH, --socket PATH) the run waits for the socket to appear.  Background
commands are stopped at the end of their example.  Anything unmarked, any
command that exits non-zero, and any missing output line fails the run.
"""
import os
import re
import shlex
import signal
import subprocess
import sys
import time

MARK_MAN = re.compile(r'^\.\\"\s*(example(?:-file|-record|-text)?)(?::\s*(.*))?$')
MARK_MD = re.compile(r'^<!--\s*(example(?:-file|-record|-text)?)(?::\s*(.*?))?\s*-->$')


class Example:
    def __init__(self, where, lines, mark=None, arg=None):
        self.where = where	# "FILE:LINE"
        self.lines = lines
        self.mark = mark	# None (man commands), example, example-file, ...
        self.arg = arg


def unescape(s):
    for a, b in (('\\e', '\\'), ('\\(aq', "'"), ('\\(dq', '"'), ('\\&', ''),
                 ('\\-', '-'), ('\\(ti', '~'), ('\\(ha', '^')):
        s = s.replace(a, b)
    return s


def parse_man(path):
    out, mark, in_ex, block = [], None, False, None
    with open(path) as f:
        lines = f.read().split('\n')
    for n, line in enumerate(lines, 1):
        if line.startswith('.Sh '):
            in_ex = line.strip() == '.Sh EXAMPLES'
            continue
        if not in_ex:
            continue
        if block is not None:
            if line.startswith('.Ed'):
                out.append(Example(block[0], block[1], *(mark or (None, None))))
                block, mark = None, None
            else:
                block[1].append(unescape(line))
            continue
        m = MARK_MAN.match(line)
        if m:
            mark = (m.group(1), m.group(2))
        elif line.startswith('.Bd -literal'):
            block = ('%s:%d' % (path, n), [])
        elif line.startswith('.Dl '):
            out.append(Example('%s:%d' % (path, n), [unescape(line[4:])],
                               *(mark or (None, None))))
            mark = None
    return out


def parse_md(path):
    out, mark, fence = [], None, False
    with open(path) as f:
        lines = f.read().split('\n')
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith('```'):
            fence = not fence
            i += 1
            continue
        m = MARK_MD.match(line.strip())
        if not fence and m:
            mark = (m.group(1), m.group(2))
            i += 1
            continue
        if not fence and line.startswith('    ') and (i == 0 or not lines[i - 1].strip()
                                                   or MARK_MD.match(lines[i - 1].strip())):
            start, block = i + 1, []
            while i < len(lines) and (lines[i].startswith('    ') or not lines[i].strip()):
                block.append(lines[i][4:])
                i += 1
            while block and not block[-1].strip():
                block.pop()
            if mark is None:
                out.append(Example('%s:%d' % (path, start), block, 'unmarked', None))
            else:
                out.append(Example('%s:%d' % (path, start), block, *mark))
            mark = None
            continue
        if line.strip():
            mark = None
        i += 1
    return out


def parse(path):
    return parse_md(path) if path.endswith('.md') else parse_man(path)


def commands(ex):
    """[(command, [expected output lines])]"""
    if ex.mark == 'example':
        return [(l, []) for l in ex.lines if l.strip()]
    cmds, cur = [], None
    for line in ex.lines:
        if cur is not None and cur[0].endswith('\\'):
            cur[0] = cur[0] + '\n' + line
        elif line.startswith('$ '):
            cur = [line[2:], []]
            cmds.append(cur)
        elif cur is not None and line.strip():
            cur[1].append(line)
    return [(c, o) for c, o in cmds]


class Failed(Exception):
    pass


def socket_of(cmd):
    words = shlex.split(cmd.replace('\\\n', ' '))
    for i, w in enumerate(words):
        if w in ('-s', '--socket') and i + 1 < len(words):
            return words[i + 1]
        if w.startswith('--socket='):
            return w.split('=', 1)[1]
    return None


def start_bg(ex, cmd, bg):
    p = subprocess.Popen(['bash', '-c', cmd], start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    bg.append(p)
    sock = socket_of(cmd)
    if not sock:
        return
    for _ in range(200):
        if os.path.exists(sock) and not os.path.isfile(sock):
            return
        if p.poll() is not None:
            break
        time.sleep(0.05)
    p.poll()
    raise Failed('%s: background command did not make %s (exit %s): %s\n%s' % (
        ex.where, sock, p.returncode, cmd, p.stderr.read().decode() if p.returncode is not None else ''))


def run_one(ex, cmd, want, bg):
    if cmd.rstrip().endswith('&'):
        start_bg(ex, cmd.rstrip()[:-1], bg)
        print('ok %s: %s' % (ex.where, cmd.replace('\n', ' ')))
        return
    try:
        r = subprocess.run(['bash', '-c', cmd], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        raise Failed('%s: timed out after 60 s: %s' % (ex.where, cmd))
    if r.returncode:
        raise Failed('%s: exit %d: %s\n--- stdout\n%s--- stderr\n%s' % (
            ex.where, r.returncode, cmd, r.stdout, r.stderr))
    got = r.stdout.split('\n')
    pos = 0
    for w in want:
        while pos < len(got) and got[pos] != w:
            pos += 1
        if pos == len(got):
            raise Failed('%s: %s\nprinted no line "%s" (in the order shown)\n--- stdout\n%s' % (
                ex.where, cmd, w, r.stdout))
        pos += 1
    print('ok %s: %s' % (ex.where, cmd.replace('\n', ' ')))


def stop_bg(bg):
    for p in bg:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    for p in bg:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def record_dir():
    d = os.environ.get('UPCALL_STATE_DIR')
    if d:
        return d
    if os.geteuid() == 0:
        return '/run/upcall'
    return os.path.join(os.environ.get('XDG_RUNTIME_DIR', ''), 'upcall')


def check_record(ex):
    vm, _, cmds = ex.arg.partition(':')
    vm = vm.strip()
    for cmd in cmds.split(';'):
        if cmd.strip():
            run_one(ex, cmd.strip(), [], [])
    path = os.path.join(record_dir(), vm + '.yaml')
    try:
        with open(path) as f:
            got = f.read().split('\n')
    except OSError as e:
        raise Failed('%s: no record of VM %s: %s' % (ex.where, vm, e))
    pos = 0
    for w in (l for l in ex.lines if l.strip()):
        # an identity names the socket's inode and times: compare what it names
        key = w.split(' dev=')[0] if ' dev=' in w else w
        while pos < len(got) and not (got[pos] == w or (key != w and got[pos].startswith(key + ' dev='))):
            pos += 1
        if pos == len(got):
            raise Failed('%s: the record of VM %s has no line "%s" (in the order shown)\n--- %s\n%s' % (
                ex.where, vm, w, path, '\n'.join(got)))
        pos += 1
    print('ok %s: the record of %s after %s' % (ex.where, vm, cmds.strip()))


def run(path):
    exs = parse(path)
    ran = 0
    for ex in exs:
        if ex.mark == 'unmarked' or (ex.mark is None and not commands(ex)):
            raise Failed('%s: an example with no "$ " command and no example-* marker' % ex.where)
        if ex.mark == 'example-text':
            if not ex.arg:
                raise Failed('%s: example-text needs a reason' % ex.where)
            print('shown only %s: %s' % (ex.where, ex.arg))
            continue
        if ex.mark == 'example-file':
            with open(ex.arg, 'w') as f:
                f.write('\n'.join(ex.lines) + '\n')
            print('file %s: %s' % (ex.where, ex.arg))
            continue
        if ex.mark == 'example-record':
            check_record(ex)
            ran += 1
            continue
        bg = []
        try:
            for cmd, want in commands(ex):
                run_one(ex, cmd, want, bg)
                ran += 1
        finally:
            stop_bg(bg)
    print('ran %d examples of %s' % (ran, path))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    op, path = sys.argv[1], sys.argv[2]
    try:
        if op == 'list':
            for ex in parse(path):
                print('%s %s %s: %s' % (ex.where, ex.mark or 'commands', ex.arg or '',
                                        ' | '.join(ex.lines)[:100]))
        elif op == 'file':
            for ex in parse(path):
                if ex.mark == 'example-file' and ex.arg == sys.argv[3]:
                    print('\n'.join(ex.lines))
                    return
            sys.exit('%s: no example-file %s' % (path, sys.argv[3]))
        elif op == 'run':
            run(path)
        else:
            sys.exit(__doc__)
    except Failed as e:
        print('FAILED %s' % e)
        sys.exit(1)


if __name__ == '__main__':
    main()
