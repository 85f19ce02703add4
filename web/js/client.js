// The live connection every page shares: hello, resume by last_seq,
// reconnect with backoff, a store of questions / floor requests / presence
// kept exactly as the server last described them, and commands as promises.
//
// Events (on the Client, an EventTarget):
//   status   detail: 'connecting' | 'connected' | 'reconnecting' | 'offline' | 'denied'
//   welcome  after each successful hello (event config and role are fresh)
//   change   detail: { snapshot, action, questions } after state was updated
//   presence after the halls' presence changed
//   message  every server message, raw (for pages that need more)
// The store survives reconnects: pages keep showing the last state while the
// link is down, then converge to the server's state once the resume arrives.

const PROTOCOL = 1;
const MAX_BACKOFF_MS = 5000;
/** The server pings every 20 s; this much silence means the link is dead. */
const SILENCE_MS = 45000;
/** Rejection codes after which reconnecting cannot help. */
const FATAL = new Set(['unauthorized', 'unknown_token', 'token_revoked', 'token_expired', 'unknown_event', 'unsupported_protocol']);

export class Client extends EventTarget {
  /** @param hello function returning the hello fields (token or event/hall/device), without last_seq */
  constructor(hello) {
    super();
    this.hello = hello;
    this.questions = new Map();
    this.floor = new Map();
    this.presence = [];
    this.event = null;
    this.you = null;
    this.seq = 0;
    this.status = 'connecting';
    this.ws = null;
    this.attempt = 0;
    this.nextReq = 1;
    this.pending = new Map();
    this.retryAfter = 0;
    this.lastHeard = 0;
    this.timer = null;
    this.fatal = null;
  }

  start() {
    window.addEventListener('online', () => this.reconnectNow());
    window.addEventListener('offline', () => this.setStatus('offline'));
    setInterval(() => this.watchdog(), 5000);
    this.connect();
    return this;
  }

  setStatus(s) {
    if (this.status === s) return;
    this.status = s;
    this.emit('status', s);
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  connect() {
    clearTimeout(this.timer);
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws;
    try {
      ws = new WebSocket(`${proto}//${location.host}/ws`);
    } catch {
      return this.scheduleReconnect();
    }
    this.ws = ws;
    ws.onopen = () => {
      const hello = { type: 'hello', protocol: PROTOCOL, ...this.hello() };
      // Resume only when we hold state to resume from.
      if (this.event) hello.last_seq = this.seq;
      ws.send(JSON.stringify(hello));
      this.lastHeard = Date.now();
    };
    ws.onmessage = (e) => {
      if (ws !== this.ws) return;
      this.lastHeard = Date.now();
      let msg;
      try {
        msg = JSON.parse(e.data);
      } catch {
        return;
      }
      this.handle(msg);
    };
    ws.onclose = () => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.failPending();
      if (this.fatal) return this.setStatus('denied');
      this.scheduleReconnect();
    };
  }

  scheduleReconnect() {
    this.setStatus(navigator.onLine === false ? 'offline' : 'reconnecting');
    // Exponential backoff with jitter so a hall full of devices does not
    // reconnect in lockstep after a server restart.
    const base = Math.min(MAX_BACKOFF_MS, 300 * 2 ** this.attempt);
    const delay = Math.max(this.retryAfter, base / 2 + Math.random() * (base / 2));
    this.retryAfter = 0;
    this.attempt += 1;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    if (this.ws || this.fatal) return;
    this.attempt = 0;
    this.connect();
  }

  watchdog() {
    if (this.ws && this.ws.readyState === WebSocket.OPEN && Date.now() - this.lastHeard > SILENCE_MS) {
      this.ws.close();
    } else if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send('{"type":"ping"}');
    }
  }

  failPending() {
    for (const { reject } of this.pending.values()) {
      reject({ code: 'disconnected', message: 'Mất kết nối; lệnh có thể chưa được thực hiện', message_en: 'connection lost; the command may not have been applied' });
    }
    this.pending.clear();
  }

  handle(msg) {
    switch (msg.type) {
      case 'welcome':
        this.event = msg.event;
        this.you = msg.you;
        this.attempt = 0;
        this.setStatus('connected');
        this.emit('welcome', msg);
        break;
      case 'snapshot':
        this.questions = new Map(msg.questions.map((q) => [q.id, q]));
        this.floor = new Map(msg.floor.map((f) => [f.id, f]));
        if (msg.presence) this.presence = msg.presence;
        this.seq = msg.seq;
        this.emit('change', { snapshot: true, questions: msg.questions });
        if (msg.presence) this.emit('presence', this.presence);
        break;
      case 'change':
        for (const q of msg.questions ?? []) {
          // Hints never ride in a change: keep the last ones until a `hints` frame brings new.
          const before = this.questions.get(q.id);
          if (!q.hints && before?.hints) q.hints = before.hints;
          this.questions.set(q.id, q);
        }
        for (const id of msg.removed ?? []) this.questions.delete(id);
        for (const f of msg.floor ?? []) this.floor.set(f.id, f);
        this.seq = msg.seq;
        this.emit('change', { snapshot: false, action: msg.action, questions: msg.questions ?? [] });
        break;
      case 'hints': {
        // The assistant's latest hints (moderators, follow-up, admin); empty = nothing to say.
        const questions = [];
        for (const { id, hints } of msg.hints ?? []) {
          const q = this.questions.get(id);
          if (!q) continue;
          if (Object.keys(hints).length) q.hints = hints;
          else delete q.hints;
          questions.push(q);
        }
        if (questions.length) this.emit('change', { snapshot: false, action: 'hints', questions });
        break;
      }
      case 'presence':
        this.presence = msg.halls;
        this.emit('presence', this.presence);
        break;
      case 'ack':
      case 'error': {
        const p = msg.req && this.pending.get(msg.req);
        if (msg.type === 'error' && msg.current) {
          // A conflict carries the question as it is now: show that at once.
          const before = this.questions.get(msg.current.id);
          if (!msg.current.hints && before?.hints) msg.current.hints = before.hints;
          this.questions.set(msg.current.id, msg.current);
          this.emit('change', { snapshot: false, action: 'conflict', questions: [msg.current] });
        }
        if (p) {
          this.pending.delete(msg.req);
          if (msg.type === 'ack') p.resolve(msg);
          else p.reject(msg);
        } else if (msg.type === 'error' && !msg.req && FATAL.has(msg.code)) {
          this.fatal = msg;
        }
        break;
      }
      case 'bye':
        this.retryAfter = msg.retry_ms ?? 1000;
        break;
      default:
        break;
    }
    this.emit('message', msg);
  }

  /** Send a command; resolves with the ack, rejects with the error (code, message, message_en, current). */
  command(cmd) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN || this.status !== 'connected') {
      return Promise.reject({ code: 'disconnected', message: 'Chưa kết nối tới máy chủ', message_en: 'not connected to the server' });
    }
    const req = `r${this.nextReq++}`;
    return new Promise((resolve, reject) => {
      this.pending.set(req, { resolve, reject });
      this.ws.send(JSON.stringify({ type: 'cmd', req, cmd }));
    });
  }

  /** Questions as an array, optionally filtered. */
  list(filter = () => true) {
    return [...this.questions.values()].filter(filter);
  }
}

/** Read `#key=value&…` from the page address. */
export function hashParams() {
  return new URLSearchParams(location.hash.replace(/^#/, ''));
}

/** A client for a staff page: the token comes from the link's #token=…. */
export function staffClient() {
  const token = hashParams().get('token');
  if (!token) return null;
  return new Client(() => ({ token })).start();
}

/** A random UUID (v4); crypto.randomUUID needs a secure context, which plain-HTTP hall networks are not. */
export function uuid() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
