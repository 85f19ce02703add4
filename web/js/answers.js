// Public page of published written answers: GET /api/events/{event}/answers,
// which carries no personal data (a name only where the asker agreed to
// show it). The event comes from ?event= or #event=, else the first event.

import { addStrings, t, lang, apply, onLang, langToggle } from './i18n.js';
import { fmtDate } from './ui.js';

addStrings(
  {
    'ans.page_title': 'Trả lời bằng văn bản — doithoai', 'ans.title': 'Trả lời bằng văn bản', 'ans.intro': 'Các câu hỏi tại buổi đối thoại được cơ quan có thẩm quyền trả lời bằng văn bản.',
    'ans.none': 'Chưa có câu trả lời nào được công bố.', 'ans.hall': 'Điểm cầu', 'ans.agency': 'Cơ quan trả lời', 'ans.asked': 'Người hỏi',
    'ans.published': 'Công bố', 'ans.failed': 'Không tải được danh sách trả lời',
  },
  {
    'ans.page_title': 'Written answers — doithoai', 'ans.title': 'Written answers', 'ans.intro': 'Questions from the dialogue answered in writing by the competent agencies.',
    'ans.none': 'No answer has been published yet.', 'ans.hall': 'Hall', 'ans.agency': 'Answered by', 'ans.asked': 'Asked by',
    'ans.published': 'Published', 'ans.failed': 'Could not load the answers',
  },
);

let data = null;
const $ = (id) => document.getElementById(id);

function node(tag, cls, text) {
  const n = document.createElement(tag);
  if (cls) n.className = cls;
  if (text !== undefined) n.textContent = text;
  return n;
}

const fmt = fmtDate;

function render() {
  if (!data) return;
  $('event-name').textContent = data.name;
  const items = data.answers.map((a) => {
    const li = node('li');
    if (a.id) li.dataset.questionId = a.id;
    const meta = [`${t('ans.hall')}: ${a.hall}`, a.display_name ? `${t('ans.asked')}: ${a.display_name}` : '', `${t('ans.published')}: ${fmt(a.published_at)}`]
      .filter(Boolean).join(' · ');
    li.append(node('p', 'muted', meta), node('p', 'q', a.text), node('p', 'muted', `${t('ans.agency')}: ${a.agency}`), node('p', 'a', a.answer));
    return li;
  });
  $('answers').replaceChildren(...(items.length ? items : [node('li', 'muted', t('ans.none'))]));
}

async function start() {
  apply();
  langToggle($('lang'));
  onLang(render);
  let event = new URLSearchParams(location.search).get('event') || new URLSearchParams(location.hash.slice(1)).get('event');
  try {
    if (!event) {
      const list = await (await fetch('/api/events')).json();
      event = list.events?.[0]?.id;
    }
    const r = await fetch(`/api/events/${encodeURIComponent(event ?? '')}/answers`);
    if (!r.ok) throw new Error(String(r.status));
    data = await r.json();
  } catch {
    $('message').textContent = t('ans.failed');
    $('message').hidden = false;
  }
  render();
}

start();
