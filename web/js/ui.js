// Small DOM helpers shared by the pages. Everything that comes from the
// server or from people is put on the page with textContent (via h()), never
// as HTML, so a question reading "<script>…" stays text.

import { t, lang, apply, langToggle, onLang } from './i18n.js';

/** Create an element: h('p', {class: 'x', text: 'y', attrs: {...}, on: {click}}, ...children). */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  if (props.text != null) el.textContent = props.text;
  for (const [k, v] of Object.entries(props.attrs ?? {})) {
    if (v === true) el.setAttribute(k, '');
    else if (v != null && v !== false) el.setAttribute(k, String(v));
  }
  for (const [k, fn] of Object.entries(props.on ?? {})) el.addEventListener(k, fn);
  for (const c of children.flat()) if (c != null && c !== false) el.append(c);
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);

/** Show the connection state in `el` (text, class and data-state for tests and styling). */
export function bindStatus(client, el) {
  const show = () => {
    el.dataset.state = client.status;
    el.className = `conn conn-${client.status}`;
    el.textContent = t(`conn.${client.status}`);
  };
  client.addEventListener('status', show);
  onLang(show);
  show();
  return show;
}

/** Say something to screen-reader users through the page's aria-live region. */
export function announce(text) {
  const live = document.getElementById('live');
  if (!live) return;
  live.textContent = '';
  // A fresh text node after clearing makes every announcement heard.
  setTimeout(() => {
    live.textContent = text;
  }, 30);
}

export function hallName(event, id) {
  return event?.halls.find((x) => x.id === id)?.name ?? id ?? '';
}

function named(list, id) {
  const item = list?.find((x) => x.id === id);
  if (!item) return id ?? '';
  return lang() === 'en' && item.name_en ? item.name_en : item.name;
}

export const deptName = (event, id) => named(event?.departments, id);
export const groupName = (event, id) => named(event?.groups, id);
export const stateLabel = (s) => t(`state.${s}`);

export function fmtTime(ms) {
  if (!ms) return '';
  return new Date(ms).toLocaleTimeString(lang() === 'en' ? 'en-GB' : 'vi-VN', { hour: '2-digit', minute: '2-digit' });
}

// Dates the way each language writes them: Vietnamese dd/mm/yyyy and a
// 24-hour clock, English "2 Dec 2026"; always in Vietnam's time zone, where
// the event happens, whatever the viewer's computer says.
const TZ = 'Asia/Ho_Chi_Minh';
const pad = (n) => String(n).padStart(2, '0');

/** A calendar date ('2026-12-02' or unix ms): "02/12/2026" in Vietnamese, "2 Dec 2026" in English. */
export function fmtDate(value) {
  if (value == null || value === '') return '';
  let y, m, d;
  if (typeof value === 'string') {
    const parts = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
    if (!parts) return value;
    [y, m, d] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  } else {
    const p = Object.fromEntries(new Intl.DateTimeFormat('en-GB', { timeZone: TZ, year: 'numeric', month: 'numeric', day: 'numeric' }).formatToParts(new Date(value)).map((x) => [x.type, x.value]));
    [y, m, d] = [Number(p.year), Number(p.month), Number(p.day)];
  }
  if (lang() === 'en') return new Date(Date.UTC(y, m - 1, d)).toLocaleDateString('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric' });
  return `${pad(d)}/${pad(m)}/${y}`;
}

/** A moment (unix ms): "14:05 02/12/2026" in Vietnamese, "2 Dec 2026, 14:05" in English. */
export function fmtDateTime(ms) {
  if (!ms) return '';
  const time = new Intl.DateTimeFormat('en-GB', { timeZone: TZ, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(ms));
  return lang() === 'en' ? `${fmtDate(ms)}, ${time}` : `${time} ${fmtDate(ms)}`;
}

/** The shared page chrome: translated labels and the language button. */
export function initPage() {
  apply();
  const toggle = document.getElementById('lang');
  if (toggle) langToggle(toggle);
}

/** The error's message in the current language. */
export function errorText(err) {
  if (!err) return '';
  return (lang() === 'en' ? err.message_en : err.message) || err.message || err.code || String(err);
}

/** Fill a <select> with options [{value, label}], keeping the current choice. */
export function fillSelect(select, options) {
  const keep = select.value;
  select.replaceChildren(...options.map((o) => h('option', { text: o.label, attrs: { value: o.value } })));
  if (options.some((o) => o.value === keep)) select.value = keep;
}

/** Sort by department queue order: position, then arrival. */
export function byQueue(a, b) {
  return (a.queue_pos ?? 0) - (b.queue_pos ?? 0) || a.created_at - b.created_at;
}
