"""The interview as people actually type it (#12): button words typed, stray answers, warnings in time."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.criteria import Criteria
from bot.flows.events import FileReceived, Sender, person_name
from bot.flows.interview import Interview
from bot.reminders import ReminderPolicy, reminder_gate
from bot.sender import OutboxSender
from bot.storage import OutboxMessage, Storage
from bot.table_rows import rows_of
from tests.conftest import PROFILE, FakeApplicant, application_of, jpeg

SHORT_RESULT = "2024年本人负责的产线合格率提高了。"  # 7.1a: short (有点短), no trend, no comparison


def collect(delivered: list[OutboxMessage]):  # type: ignore[no-untyped-def]
    """A transport that keeps what the outbox sender hands it, as a phone would receive it."""
    async def transport(message: OutboxMessage) -> None:
        delivered.append(message)
    return transport


async def answers_of(storage: Storage, person: FakeApplicant) -> dict[str, str]:
    return await storage.answers((await application_of(storage, person)).id)


# -- 1. typed button words and numbers ---------------------------------------------------------------


async def test_typing_next_under_a_question_moves_on_and_saves_nothing(applicant, storage) -> None:
    await applicant.reach_questions()
    await applicant.command("jump", "1.2a")
    await applicant.say("下一题")
    assert "1.2b" in applicant.text and "已保存" not in applicant.text
    await applicant.say("上一题 ◀")
    assert "1.2a" in applicant.text
    await applicant.say("跳过")  # the 下一题 button of an unanswered question reads 跳过
    assert "1.2b" in applicant.text
    await applicant.say("目录")
    assert "目录：请选择类目" in applicant.text
    assert await answers_of(storage, applicant) == {}


async def test_after_the_menu_a_bare_number_opens_that_category(applicant, storage) -> None:
    await applicant.reach_questions()
    await applicant.command("jump", "3.1a")
    await applicant.command("menu")
    await applicant.say("1")
    assert "1 意识与素质：请选择条目" in applicant.text
    await applicant.say("１.２")  # typed on a phone keyboard in full width
    assert "1.2a" in applicant.text and "第 4/共 39 题" in applicant.text
    assert await answers_of(storage, applicant) == {}


async def test_a_number_under_a_question_is_asked_about_and_can_be_kept_as_the_answer(applicant, storage) -> None:
    await applicant.reach_questions()
    await applicant.say("1")
    assert "您是想点「下一题」" not in applicant.text  # unanswered: the first button reads 跳过
    assert "您是想点「跳过」，还是把「1」作为回答保存？" in applicant.text
    assert await answers_of(storage, applicant) == {}
    await applicant.tap("把「1」作为回答保存")
    assert "已保存 1.1a 的回答，本题现有 1 字" in applicant.text
    await applicant.say("1")
    assert "您是想点「下一题」，还是把「1」作为回答保存？" in applicant.text
    await applicant.tap("点「下一题」")
    assert "1.1b" in applicant.text
    assert await answers_of(storage, applicant) == {"1.1a": "1"}


async def test_typed_words_on_the_profile_finish_a_field_and_pick_a_choice(applicant, storage) -> None:
    await applicant.consent()
    await applicant.say("王芳")
    await applicant.say("2")  # 性别: the second choice
    await applicant.say("汉族")
    await applicant.say("1986-03")
    await applicant.say("320703198603151026")
    await applicant.say("跳过此项")  # 照片: the button's words
    await applicant.say("群众")
    await applicant.say(PROFILE["education"])
    await applicant.say("跳过此项")  # 毕业院校
    await applicant.say("跳过此项")  # 参加工作时间
    await applicant.say(PROFILE["unit"])
    await applicant.say("跳过此项")  # 统一社会信用代码
    await applicant.say("跳过此项")  # 通讯地址
    for key in ("position", "title", "years", "phone"):
        await applicant.say(PROFILE[key])
    await applicant.say("跳过此项")  # 办公电话
    await applicant.say(PROFILE["email"])
    await applicant.say("2010—2016 某某公司 质量工程师")
    await applicant.say("2017 至今 某某公司 质量部经理")
    await applicant.say("完成本项")
    await applicant.say("跳过此项")  # 主要荣誉
    await applicant.say("跳过此项")  # 个人简介
    assert "申报表填好了" in applicant.text and "1.1a" in applicant.text
    profile = await storage.profile((await application_of(storage, applicant)).id)
    assert profile["gender"] == "女" and profile["political"] == "群众"
    assert rows_of(profile["experience"], 3) == [["2010—2016", "某某公司", "质量工程师"],
                                                 ["2017—至今", "某某公司", "质量部经理"]]
    assert profile["years"] == PROFILE["years"]  # a number field keeps its number


async def test_typing_agree_starts_and_a_number_at_the_finish_prompt_submits(applicant, storage) -> None:
    await applicant.say("你好")
    await applicant.say("同意")
    assert "申报表 第 1/共 22 项" in applicant.text
    await applicant.fill_profile()
    await applicant.command("finish")
    await applicant.say("1")
    assert "申报已于" in applicant.text
    assert (await application_of(storage, applicant)).status == "submitted"


# -- 2. an answer can be emptied ---------------------------------------------------------------------


async def test_a_stray_message_can_be_cleared_and_the_clearing_undone(applicant, storage) -> None:
    await applicant.reach_questions()
    await applicant.command("jump", "1.2a")
    await applicant.say("哦，发错了")
    assert await answers_of(storage, applicant) == {"1.2a": "哦，发错了"}
    await applicant.tap("查看本题")
    await applicant.tap("清空本题")
    assert "已清空 1.2a 的回答（原来 5 字）" in applicant.text
    assert await answers_of(storage, applicant) == {}
    await applicant.command("progress")
    assert "已答 0/39" in applicant.text
    await applicant.command("undo")
    assert await answers_of(storage, applicant) == {"1.2a": "哦，发错了"}
    await applicant.command("clear")
    assert await answers_of(storage, applicant) == {}
    await applicant.command("clear")
    assert "还没有回答，不用清空" in applicant.text


async def test_undo_after_a_first_answer_empties_it(applicant, storage) -> None:
    await applicant.reach_questions()
    await applicant.say("随手打的字")
    await applicant.command("undo")
    assert "1.1a 的回答，本题现在是空的" in applicant.text
    assert await answers_of(storage, applicant) == {}
    app = await application_of(storage, applicant)
    assert [r.text for r in await storage.history(app.id, "1.1a")] == ["随手打的字", ""]


# -- 3. warnings at the right moment ------------------------------------------------------------------


async def test_a_results_answer_in_parts_is_advised_once_when_the_applicant_moves_on(applicant) -> None:
    await applicant.reach_questions()
    await applicant.command("jump", "7.1a")
    await applicant.say(SHORT_RESULT)
    assert "已保存 7.1a 的回答" in applicant.text and "字" in applicant.text
    assert "有点短" not in applicant.text and "评审" not in applicant.text
    await applicant.say("第二段：班组获评先进。")
    assert "已补充到 7.1a" in applicant.text and "有点短" not in applicant.text
    await applicant.tap("下一题")
    [advice, prompt] = applicant.last
    assert advice.text.startswith("📋 关于刚才的 7.1a") and "有点短" in advice.text
    assert "7.1b" in prompt.text
    # Back and on again without changing it: said once.
    await applicant.tap("上一题")
    assert "关于刚才" not in applicant.text
    await applicant.tap("下一题")
    assert "关于刚才" not in applicant.text and "7.1b" in applicant.text


async def test_advice_after_a_pause_comes_once_and_only_for_the_latest_part(storage: Storage,
                                                                           criteria: Criteria) -> None:
    interview = Interview(storage, criteria, advice_pause=timedelta(0))
    phone = FakeApplicant(interview, "4242", "王芳")
    phone.sender = Sender("telegram", "4242", "王芳")
    await phone.reach_questions()
    await phone.command("jump", "7.1a")
    await phone.say(SHORT_RESULT)
    await phone.say("第二段：班组获评先进。")
    delivered: list[OutboxMessage] = []
    transport = collect(delivered)
    sender = OutboxSender(storage, transport, per_chat_interval=0)
    await sender.send_due()
    [advice] = delivered
    assert advice.recipient == "4242" and advice.kind == "advice"
    assert "关于刚才的 7.1a" in advice.payload["text"] and "有点短" in advice.payload["text"]
    # Leaving afterwards repeats nothing.
    await phone.tap("下一题")
    assert "关于刚才" not in phone.text


async def test_advice_waits_the_pause_and_leaving_first_gives_it_in_the_reply(storage: Storage,
                                                                             criteria: Criteria) -> None:
    interview = Interview(storage, criteria)  # the real pause: ten minutes
    phone = FakeApplicant(interview, "4343", "王芳")
    phone.sender = Sender("telegram", "4343", "王芳")
    await phone.reach_questions()
    await phone.command("jump", "7.1a")
    await phone.say(SHORT_RESULT)
    waiting = await storage.next_due((datetime.now(UTC) + timedelta(minutes=11)).isoformat())
    assert waiting is not None and waiting.kind == "advice"
    assert await storage.next_due() is None  # not before the pause
    await phone.tap("下一题")
    assert "关于刚才的 7.1a" in phone.text
    assert await storage.next_due((datetime.now(UTC) + timedelta(minutes=11)).isoformat()) is None


# -- 5. small wrong replies ---------------------------------------------------------------------------


async def test_leaving_an_empty_profile_for_the_menu_says_what_is_still_open(applicant) -> None:
    await applicant.consent()
    await applicant.command("jump", "3.1")
    assert "申报表填好了" not in applicant.text
    assert "申报表还有" in applicant.text and "姓名" in applicant.text and "3.1a" in applicant.text


async def test_editing_an_earlier_profile_message_shows_the_current_field_again(applicant, storage) -> None:
    await applicant.consent()
    await applicant.say("王方")
    name_ref = applicant.refs[-1]
    await applicant.tap("女")
    assert "请填写：民族" in applicant.text
    await applicant.edit(name_ref, "王芳")
    assert "已更新姓名：王芳" in applicant.text and "请填写：民族" in applicant.text
    assert (await storage.profile((await application_of(storage, applicant)).id))["name"] == "王芳"


async def test_a_rewrite_left_by_another_command_is_said_so(applicant, storage) -> None:
    await applicant.reach_questions()
    await applicant.say("原来的回答，2023年起每月复盘。")
    await applicant.tap("重写本题")
    await applicant.command("next")
    assert "已退出 1.1a 的重写，原来的回答没有改动" in applicant.text and "1.1b" in applicant.text
    await applicant.say("这是 1.1b 的回答")
    assert await answers_of(storage, applicant) == {"1.1a": "原来的回答，2023年起每月复盘。",
                                                    "1.1b": "这是 1.1b 的回答"}
    # Cancelling it says only that it is cancelled.
    await applicant.tap("重写本题")
    await applicant.tap("取消")
    assert "已退出" not in applicant.text and "已取消" in applicant.text


def test_a_chinese_telegram_name_is_greeted_in_chinese_order() -> None:
    assert person_name("雪梅", "赵") == "赵雪梅"
    assert person_name("欧阳", None) == "欧阳"
    assert person_name("Mary", "Smith") == "Mary Smith"
    assert person_name("Xuemei", "Zhao") == "Xuemei Zhao"
    assert person_name("", "") == ""


async def test_advice_still_queued_when_the_applicant_has_moved_on_is_never_sent(storage: Storage,
                                                                                criteria: Criteria) -> None:
    interview = Interview(storage, criteria, advice_pause=timedelta(0))
    phone = FakeApplicant(interview, "4444", "王芳")
    phone.sender = Sender("telegram", "4444", "王芳")
    await phone.reach_questions()
    await phone.command("jump", "7.1a")
    await phone.say(SHORT_RESULT)
    # The bot was down while the applicant went on elsewhere (their place moved without a reply here).
    app = await application_of(storage, phone)
    await storage.update_application(app.id, step="q:7.2a")
    delivered: list[OutboxMessage] = []
    transport = collect(delivered)
    policy = ReminderPolicy(ZoneInfo("Asia/Shanghai"), (7, 3, 1), 7, time(0, 0), time(0, 0))
    await OutboxSender(storage, transport, per_chat_interval=0, gate=reminder_gate(storage, policy)).send_due()
    assert delivered == []


# -- found by review: words typed in the middle of something --------------------------------------------


async def test_next_typed_during_a_rewrite_moves_on_and_keeps_the_answer(applicant, storage) -> None:
    await applicant.reach_questions()
    await applicant.say("原来的回答，完整。")
    await applicant.tap("重写本题")
    await applicant.say("下一题")
    assert "已退出 1.1a 的重写" in applicant.text and "1.1b" in applicant.text
    assert await answers_of(storage, applicant) == {"1.1a": "原来的回答，完整。"}


async def test_a_number_kept_as_the_answer_keeps_the_rewrite_or_the_long_field_it_was_typed_in(
        applicant, storage) -> None:
    await applicant.reach_questions()
    await applicant.say("原来的回答，完整。")
    await applicant.tap("重写本题")
    await applicant.say("1")
    await applicant.tap("作为回答保存")
    assert "已用新内容替换 1.1a" in applicant.text and "已退出" not in applicant.text
    assert await answers_of(storage, applicant) == {"1.1a": "1"}
    await applicant.command("profile")
    while "个人简介及主要事迹" not in applicant.text:
        await applicant.keep_or_skip()
    await applicant.say("2018年起任质量部经理。")
    await applicant.say("2")
    await applicant.tap("作为回答保存")
    profile = await storage.profile((await application_of(storage, applicant)).id)
    assert profile["summary"] == "2018年起任质量部经理。\n2"


async def test_navigation_words_are_never_saved_as_a_profile_value(applicant, storage) -> None:
    await applicant.consent()
    await applicant.say("跳过")
    assert "「跳过」是按钮上的字" in applicant.text and "请填写：姓名" in applicant.text
    await applicant.say("目录")
    assert "目录：请选择类目" in applicant.text  # a button word that is also a command
    await applicant.tap("申报表")
    await applicant.fill_profile()
    await applicant.command("profile")
    await applicant.say("下一题")  # on a filled 姓名: the same as 保留原值
    assert "请填写：性别" in applicant.text
    profile = await storage.profile((await application_of(storage, applicant)).id)
    assert profile["name"] == PROFILE["name"]


async def test_typing_a_number_or_a_word_never_signs_up_someone_who_did_not_see_the_consent(
        applicant, storage) -> None:
    await applicant.say("1")
    await applicant.say("开始")
    assert applicant.button("同意并开始")
    assert await storage.find_applicant("test", "1001") is None


async def test_an_id_typed_at_the_menu_goes_there_and_clear_typed_anywhere_on_the_question_clears(
        applicant, storage) -> None:
    await applicant.reach_questions()
    await applicant.say("第一题的回答内容。")
    await applicant.command("menu")
    await applicant.say("7.4a")
    assert "7.4a 个人" in applicant.text and "第 38/共 39 题" in applicant.text
    await applicant.command("jump", "1.1a")
    await applicant.say("清空本题")
    assert await answers_of(storage, applicant) == {}


async def test_a_certificate_sent_before_the_pause_ends_takes_its_warning_out_of_the_advice(
        storage: Storage, criteria: Criteria) -> None:
    interview = Interview(storage, criteria, advice_pause=timedelta(0))
    phone = FakeApplicant(interview, "4545", "王芳")
    phone.sender = Sender("telegram", "4545", "王芳")
    await phone.reach_questions()
    await phone.command("jump", "7.4a")
    await phone.say("2024年本人获评连云港经济技术开发区优秀质量工作者，2023年获市五一劳动奖章。")
    await phone._send(FileReceived(phone.sender, "证书.jpg", "image/jpeg", jpeg("certificate")))
    delivered: list[OutboxMessage] = []
    transport = collect(delivered)
    await OutboxSender(storage, transport, per_chat_interval=0).send_due()
    assert all("证明材料" not in m.payload["text"] for m in delivered)


async def test_advice_after_pauses_between_parts_is_given_once(storage: Storage, criteria: Criteria) -> None:
    interview = Interview(storage, criteria, advice_pause=timedelta(0))
    phone = FakeApplicant(interview, "4646", "王芳")
    phone.sender = Sender("telegram", "4646", "王芳")
    await phone.reach_questions()
    await phone.command("jump", "7.1a")
    delivered: list[OutboxMessage] = []
    transport = collect(delivered)
    sender = OutboxSender(storage, transport, per_chat_interval=0)
    for part in ("产线合格率提高了。", "班组获评先进。", "客户满意。"):
        await phone.say(part)
        await sender.send_due()
    await phone.tap("下一题")
    assert len(delivered) == 1 and "关于刚才" not in phone.text
