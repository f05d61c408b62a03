/**
 * The widget's words in Simplified Chinese (see ./strings.ts): a chunk of its own, loaded only where the
 * widget speaks Chinese. Card reasons say what the app's zh-CN.ts says (its `why` keys; a test checks).
 */
import { GENRE_NAMES_ZH, MEMORY_NOTICES_ZH } from '../ui/i18n/shared-zh';
import type { WidgetStrings } from './strings';

const zhGenre = (genre: string) => (Object.hasOwn(GENRE_NAMES_ZH, genre) ? GENRE_NAMES_ZH[genre as keyof typeof GENRE_NAMES_ZH] : genre);

/** The same sentences as the app's zh-CN.ts where the app has them (the `why` keys). */
export const WIDGET_STRINGS_ZH: WidgetStrings = {
  loading: '正在加载推荐…',
  nothingYet: '暂时没有可推荐的内容。',
  recommendations: '推荐',
  unavailable: '无法提供推荐：{reason}',
  couldNotStart: '推荐程序无法在这里启动（{message}）。',
  stopped: '推荐程序已停止（{message}）。',
  workerError: 'worker 出错',
  memory: MEMORY_NOTICES_ZH,
  remember: '在这个网站上记住我的选择',
  notAllowed: '浏览器没有允许：你的选择只在这次访问中保留。',
  grantedButRefused: '已获得访问权限，但这个浏览器仍不允许推荐程序在这里保存你的选择：它们只在这次访问中保留。',
  reason: (contribution) => {
    switch (contribution.kind) {
      case 'liked':
        return `因为你喜欢《${contribution.title}》`;
      case 'similar':
        return `与《${contribution.title}》相似`;
      case 'genre':
        return contribution.likedCount > 0
          ? `${zhGenre(contribution.genre)}类图书，你喜欢过 ${contribution.likedCount} 本同类书`
          : `${zhGenre(contribution.genre)}类图书，你选择的类型`;
      case 'query':
        return `符合“${contribution.query}”`;
      case 'popular':
        return '深受读者欢迎';
      case 'new':
        return '你没见过的新书';
      case 'taste':
        return '接近你的口味';
    }
  },
};
