// Projector display in every hall (1920×1080) and, with ?overlay=1, a
// transparent lower third for the livestream (an OBS browser source): the
// question on air with its hall, department and votes, the hall that has
// the floor, and the next queued questions in the running order. The server
// sends displays only the public view (no personal data beyond a consented
// display name). While reconnecting the last state stays on screen: nothing
// blanks or flickers, only the small connection badge changes.
//
// The question on air always fits: its type shrinks from a large size
// towards a minimum readable from the back of a hall; a text still too long
// at the minimum is shown a page at a time, each page a whole number of
// lines, turning slowly, so no line is ever cut.

import { staffClient } from './client.js';
import { addStrings, t, onLang } from './i18n.js';
import { h, $, bindStatus, hallName, deptName, initPage, byQueue } from './ui.js';

addStrings(
  { 'dp.page_title': 'Màn hình điểm cầu — doithoai', 'dp.next': 'Câu hỏi tiếp theo', 'dp.none_next': 'Chưa có câu hỏi trong hàng chờ', 'dp.votes': '{n} người cùng hỏi', 'dp.page': 'Trang {n}/{of}' },
  { 'dp.page_title': 'Hall display — doithoai', 'dp.next': 'Up next', 'dp.none_next': 'No questions queued yet', 'dp.votes': '{n} people asking', 'dp.page': 'Page {n} of {of}' },
);

/** How many upcoming questions are listed under the one on air. */
const NEXT = 3;
/** The on-air type's largest and smallest size, as a share of the window height (84 and 40 px at 1080p). */
const MAX_SIZE = 0.078;
const MIN_SIZE = 0.037;
const LINE_HEIGHT = 1.25;
/** How long each page of a very long question stays up. */
const PAGE_MS = 12000;

const overlay = new URLSearchParams(location.search).get('overlay') === '1';
if (overlay) document.body.classList.add('overlay');

initPage();
const client = staffClient();
let shownText = null;
let pageTimer = null;

if (!client) {
  $('#notoken').hidden = false;
} else {
  bindStatus(client, $('#conn'));
  client.addEventListener('welcome', render);
  client.addEventListener('change', render);
  onLang(render);
  window.addEventListener('resize', () => fit(true));
  document.fonts?.ready.then(() => fit(true));
  // The on-air area grows and shrinks with the floor notice and the next
  // list: refit then (its size does not depend on its own text, except in
  // the overlay, where nothing else shares the screen).
  if (!overlay && window.ResizeObserver) {
    let last = 0;
    new ResizeObserver(([entry]) => {
      const height = Math.round(entry.contentRect.height);
      if (Math.abs(height - last) > 1 && last) fit(true);
      last = height;
    }).observe($('#air'));
  }
}

/** Queued questions in the running order: the on-air department's queue goes on first, then each department's queue in the event's order. */
function runningOrder(ev, air) {
  const rank = new Map((ev.departments ?? []).map((d, i) => [d.id, i + 1]));
  const deptRank = (d) => (air && d === air.department ? 0 : rank.get(d) ?? rank.size + 1);
  return client.list((q) => q.state === 'queued').sort((a, b) => deptRank(a.department) - deptRank(b.department) || byQueue(a, b));
}

function render() {
  const ev = client.event;
  if (!ev) return;
  $('#theme').textContent = ev.theme || ev.name;
  $('#here').textContent = client.you.hall ? hallName(ev, client.you.hall) : '';
  const air = client.list((q) => q.state === 'on_air')[0];
  const section = $('#air');
  section.dataset.empty = String(!air);
  section.dataset.questionId = air?.id ?? '';
  section.dataset.id = air?.id ?? '';
  const text = $('#air-text');
  text.dataset.onAir = air?.id ?? '';
  const want = air ? air.text : t('common.nothing_on_air');
  if (text.textContent !== want) text.textContent = want;
  $('#air-who').textContent = air ? [hallName(ev, air.hall), air.department && deptName(ev, air.department), air.display_name].filter(Boolean).join(' · ') : '';
  $('#air-votes').hidden = !(air && air.votes > 1);
  if (air) $('#air-votes').textContent = t('dp.votes', { n: air.votes });

  const floor = [...client.floor.values()].find((f) => f.state === 'granted');
  $('#floor-now').hidden = !floor;
  if (floor) $('#floor-now').textContent = t('common.floor_granted', { hall: hallName(ev, floor.hall) });

  const next = runningOrder(ev, air).slice(0, NEXT);
  $('#next').replaceChildren(
    ...(next.length
      ? next.map((q) =>
          h(
            'li',
            { attrs: { 'data-id': q.id, 'data-question-id': q.id } },
            h(
              'span',
              {},
              h('span', { class: 'q', text: q.text }),
              h('span', { class: 'meta', text: [hallName(ev, q.hall), q.department && deptName(ev, q.department), q.votes > 1 && t('dp.votes', { n: q.votes })].filter(Boolean).join(' · ') }),
            ),
          ),
        )
      : [h('li', { class: 'muted', text: t('dp.none_next') })]),
  );
  fit(false);
}

/**
 * Size the on-air text to its box: the largest size in [min, max] at which
 * it fits; at the minimum, a box of whole lines that pages through the text.
 * `again` refits the same text (the window or the fonts changed).
 */
function fit(again) {
  const box = $('#air-box');
  const text = $('#air-text');
  if (!again && shownText === text.textContent) return;
  shownText = text.textContent;
  clearInterval(pageTimer);
  box.scrollTop = 0;
  box.classList.remove('paged');
  box.style.removeProperty('height');
  const vh = window.innerHeight;
  // A box with a CSS max-height (the overlay) grows with its text up to it.
  const cap = parseFloat(getComputedStyle(box).maxHeight);
  const room = () => (Number.isFinite(cap) ? cap : box.clientHeight);
  const setSize = (px) => {
    text.style.fontSize = `${px}px`;
    text.style.lineHeight = `${Math.round(px * LINE_HEIGHT)}px`;
  };
  const fits = () => text.scrollHeight <= room() + 1;
  let lo = Math.round(vh * MIN_SIZE);
  let hi = Math.round(vh * (overlay ? MAX_SIZE * 0.7 : MAX_SIZE));
  setSize(hi);
  if (!fits()) {
    setSize(lo);
    if (fits()) {
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        setSize(mid);
        if (fits()) lo = mid;
        else hi = mid;
      }
      setSize(lo);
    } else {
      page(box, text, room());
      return;
    }
  }
  $('#air-page').hidden = true;
}

/** Show a text too long for its box one page of whole lines at a time. */
function page(box, text, room) {
  const line = parseFloat(text.style.lineHeight);
  const lines = Math.max(1, Math.floor(room / line));
  const height = lines * line;
  box.classList.add('paged');
  box.style.height = `${height}px`;
  const pages = Math.ceil(text.scrollHeight / height);
  let at = 0;
  const show = () => {
    box.scrollTop = at * height;
    box.dataset.page = String(at + 1);
    box.dataset.pages = String(pages);
    $('#air-page').hidden = false;
    $('#air-page').textContent = t('dp.page', { n: at + 1, of: pages });
  };
  show();
  pageTimer = setInterval(() => {
    at = (at + 1) % pages;
    show();
  }, PAGE_MS);
}
