// Public page of published written answers: GET /api/events/{event}/answers,
// which carries no personal data (a name only where the asker agreed to
// show it). The event comes from ?event= or #event=, else the first event.

const LANG_KEY = 'doithoai.lang';
const T = {
  vi: {
    page_title: 'Trả lời bằng văn bản — doithoai', title: 'Trả lời bằng văn bản', intro: 'Các câu hỏi tại buổi đối thoại được cơ quan có thẩm quyền trả lời bằng văn bản.',
    none: 'Chưa có câu trả lời nào được công bố.', hall: 'Điểm cầu', agency: 'Cơ quan trả lời', asked: 'Người hỏi',
    published: 'Công bố', lang: 'English', failed: 'Không tải được danh sách trả lời',
  },
  en: {
    page_title: 'Written answers — doithoai', title: 'Written answers', intro: 'Questions from the dialogue answered in writing by the competent agencies.',
    none: 'No answer has been published yet.', hall: 'Hall', agency: 'Answered by', asked: 'Asked by',
    published: 'Published', lang: 'Tiếng Việt', failed: 'Could not load the answers',
  },
};

let lang = localStorage.getItem(LANG_KEY) === 'en' ? 'en' : 'vi';
let data = null;
const $ = (id) => document.getElementById(id);
const t = (k) => T[lang][k] ?? T.vi[k] ?? k;

function node(tag, cls, text) {
  const n = document.createElement(tag);
  if (cls) n.className = cls;
  if (text !== undefined) n.textContent = text;
  return n;
}

function fmt(ms) {
  return ms ? new Intl.DateTimeFormat(lang === 'vi' ? 'vi-VN' : 'en-GB', { timeZone: 'Asia/Ho_Chi_Minh', dateStyle: 'medium' }).format(new Date(ms)) : '';
}

function render() {
  document.documentElement.lang = lang;
  for (const n of document.querySelectorAll('[data-i18n]')) n.textContent = t(n.dataset.i18n);
  $('lang').textContent = t('lang');
  if (!data) return;
  $('event-name').textContent = data.name;
  const items = data.answers.map((a) => {
    const li = node('li');
    const meta = [`${t('hall')}: ${a.hall}`, a.display_name ? `${t('asked')}: ${a.display_name}` : '', `${t('published')}: ${fmt(a.published_at)}`]
      .filter(Boolean).join(' · ');
    li.append(node('p', 'muted', meta), node('p', 'q', a.text), node('p', 'muted', `${t('agency')}: ${a.agency}`), node('p', 'a', a.answer));
    return li;
  });
  $('answers').replaceChildren(...(items.length ? items : [node('li', 'muted', t('none'))]));
}

async function start() {
  $('lang').addEventListener('click', () => {
    lang = lang === 'vi' ? 'en' : 'vi';
    localStorage.setItem(LANG_KEY, lang);
    render();
  });
  render();
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
    $('message').textContent = t('failed');
    $('message').hidden = false;
  }
  render();
}

start();
