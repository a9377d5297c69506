"""A year of a bank's customers using its help centre and its products, for ``make bench-recommend``.

``history_generate(customers=, interactions=, seed=)`` writes into the current database (seeded, deterministic for
a seed and an end date): about 200 products over 13 categories beside the demo catalogue (its articles and its 11
products, which must be there), customers ``rec-NNNNN`` in seven segments, and their interactions over the 12
months before ``end``:

- **stable interests**: each segment weighs 13 topics (travel, savings, business...); each customer draws their
  own weights around their segment's (Dirichlet), and a tier (standard, plus, premium) that makes products of
  their tier likelier;
- **long-tailed popularity**: within a topic, items are weighted 1/rank (Zipf), the ranks shuffled;
- **seasons**: topics peak in their months (travel in summer and at Christmas, ISAs before April, self-assessment
  in January, the family topic at back-to-school); some products are seasonal (a tenth as likely out of season),
  and 8 % of the generated products launch during the year;
- **sessions**: a customer's sessions fall uniformly over their time with the bank (a quarter join during the
  year), each on one topic chosen by interest times season, 1-5 items, about a third of them revisits; each item is
  viewed (products sometimes reached through a recommendation: a click), an article sometimes rated helpful or
  not, a product sometimes bought (likelier on a second look; at most once per customer and product);
- **conversations**: a quarter of the customers ask the bot 1-3 questions (a BANKING77 utterance of an intent of
  an article of the session's topic); the bot answers with that article, which the customer then views.

``python -m bench.recommend_data --customers 4000 --interactions 60000`` writes into the configured database (the
demo's); a second run replaces what the first wrote.
"""

import argparse
import math
import os
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
django.setup()  # a second call (from bench.recommend, already set up) changes nothing

from django.conf import settings  # noqa: E402
from django.db import transaction  # noqa: E402

from apps.conversations.models import Conversation, Message  # noqa: E402
from apps.customers.models import Customer  # noqa: E402
from apps.knowledge.models import Article  # noqa: E402
from apps.recommendations.models import Interaction, Product, item_key  # noqa: E402
from apps.reports.services import conversation_facts_refresh_stale  # noqa: E402
from apps.web.demo.backdate import fields_write  # noqa: E402
from apps.web.demo.catalogue import name_pools, utterances_load  # noqa: E402
from apps.web.demo.content import articles_ensure, products_ensure  # noqa: E402

CUSTOMER_PREFIX = "rec-"
BATCH = 5000
DAYS = 365

# The demo's articles by topic (an article not listed goes by its first tag, else to "everyday").
ARTICLE_TOPICS = """
cards: card-delivery activate-card order-physical-card card-expiry virtual-cards card-not-working pin
cards: apple-pay-google-pay
travel: where-card-accepted atm-withdrawals exchange-currencies foreign-currency-payments
payments: cash-withdrawal-problems card-payment-status duplicate-and-small-charges refunds balance-not-updated
payments: sending-money transfer-problems cancel-transfer
security: disposable-cards lost-stolen-card unrecognised-payment verify-top-up-card verify-identity source-of-funds
security: passcode lost-phone
everyday: fees add-money top-up-limits-fees top-up-problems personal-details close-account eligibility auto-top-up
business: receiving-money
"""
ARTICLE_TOPIC = {
    slug: topic.strip()
    for line in ARTICLE_TOPICS.strip().splitlines()
    for topic, slugs in [line.split(":")]
    for slug in slugs.split()
}
TAG_TOPIC = {"cards": "cards", "currencies": "travel", "payments": "payments", "transfers": "payments"}
DEMO_PRODUCTS = {  # slug: (topic, tier)
    "current-account": ("everyday", 0),
    "plus": ("everyday", 1),
    "premium": ("travel", 2),
    "junior": ("family", 0),
    "easy-access-saver": ("savings", 0),
    "fixed-saver-1y": ("savings", 1),
    "cash-isa": ("savings", 1),
    "personal-loan": ("borrowing", 0),
    "credit-card": ("cards", 0),
    "travel-insurance": ("travel", 1),
    "gadget-insurance": ("insurance", 0),
}

TIERS = ("standard", "plus", "premium")
TIER_MATCH = (1.0, 0.4, 0.12)  # weight of a product 0, 1 or 2 tiers away from the customer's
# segment: (share of customers, tier weights, topic weights)
SEGMENTS = {
    "student": (
        14,
        (85, 13, 2),
        {"everyday": 3, "cards": 3, "payments": 2, "travel": 2, "borrowing": 1.5, "security": 1},
    ),
    "young_professional": (
        26,
        (55, 32, 13),
        {"everyday": 2, "cards": 2, "travel": 2, "investing": 2, "savings": 1.5, "payments": 1.5, "home": 1},
    ),
    "family": (18, (60, 30, 10), {"family": 4, "home": 3, "insurance": 2.5, "savings": 2, "borrowing": 1.5}),
    "frequent_traveller": (13, (35, 35, 30), {"travel": 5, "cards": 2, "payments": 2, "insurance": 1, "everyday": 1}),
    "small_business": (
        10,
        (50, 35, 15),
        {"business": 5, "payments": 2, "borrowing": 1.5, "retirement": 1, "everyday": 1},
    ),
    "retiree": (10, (50, 30, 20), {"retirement": 4, "savings": 3, "security": 2.5, "insurance": 1.5, "travel": 1}),
    "saver": (9, (45, 35, 20), {"savings": 5, "investing": 3, "retirement": 1.5, "everyday": 1, "home": 0.5}),
}
BACKGROUND = 0.15  # every topic's weight besides the segment's: anyone may look at anything
INTEREST_CONCENTRATION = 6.0  # Dirichlet around the segment's weights: higher, customers closer to it
# Month (1-12) multipliers of a topic's weight.
SEASONS = {
    "travel": {1: 0.7, 2: 0.8, 3: 0.9, 4: 1.1, 5: 1.4, 6: 1.9, 7: 2.3, 8: 2.0, 9: 1.1, 10: 0.9, 11: 0.7, 12: 1.4},
    "savings": {1: 1.3, 2: 1.5, 3: 1.9, 4: 1.6, 12: 0.7},
    "investing": {1: 1.2, 2: 1.3, 3: 1.7, 4: 1.5},
    "business": {1: 2.0, 4: 1.4, 7: 1.2, 12: 0.7},
    "family": {8: 1.6, 9: 1.9, 12: 1.3},
    "home": {3: 1.3, 4: 1.4, 5: 1.4, 6: 1.3, 12: 0.6},
    "borrowing": {1: 1.6, 11: 1.2, 12: 1.4},
    "cards": {11: 1.4, 12: 1.5},
    "insurance": {1: 1.3, 6: 1.2},
    "security": {11: 1.2, 12: 1.4},
    "retirement": {3: 1.4, 4: 1.3},
}
ZIPF = 1.0
REVISIT = 0.35  # share of a session's items that are ones the customer used before in the topic
CONVERSING = 0.25  # share of customers who ask the bot something during the year
LAUNCHED_DURING_YEAR = 0.08


@dataclass(frozen=True)
class GeneratedProduct:
    slug: str
    name: str
    category: str
    topic: str
    description: str
    tier: int
    months: tuple[int, ...] = ()  # in season (a tenth as likely in other months); () for all year


# One product (or a family of variants: "{v}" takes each) a line: name | tier (0 standard, 1 plus, 2 premium) |
# months in season (blank: all year) | variants | description. Under a [category topic] heading.
PRODUCT_LINES = """
[accounts everyday]
Joint Current Account | 0 | | | One account for two people: both get a card, see every payment and share bill pots.
Student Account | 0 | | | For students: an interest-free overdraft up to £2,000 and a free railcard.
Graduate Account | 0 | | | An interest-free overdraft that steps down over three years after graduation.
{v} Account | 0 | | Euro, US Dollar, Swiss Franc | Local {v} account details and a card that spends them abroad.
Northwind Metal | 2 | | | A steel card, 1 % cashback abroad, concierge and lounge access for £14.99 a month.
Northwind Ultra | 2 | | | Platinum card, private banking line, global insurance and lounges for £45 a month.
Bill Pots | 0 | | | Money set aside for bills in pots; direct debits are paid from the right one.
Budgeting Insights | 0 | | | Spending by category, monthly budgets with alerts and a report of your subscriptions.
Cashback Rewards | 1 | | | Up to 3 % cashback at hundreds of partner shops, paid monthly into your account.
Account Switching Service | 0 | | | Move your salary and direct debits from another bank in seven working days.
Salary Sorter | 1 | | | Split each salary between bills, savings pots and spending the day it arrives.
Early Salary | 0 | | | See your salary up to a day early when your employer pays by Bacs.
Basic Bank Account | 0 | | | A fee-free account and debit card with no credit check.
Plus Annual | 1 | | | Northwind Plus paid yearly with two months free: fee-free exchange and cash abroad.
[payments payments]
International Transfers | 0 | | | Send money to 60 countries at the real exchange rate with a small fixed fee.
Scheduled Payments | 0 | | | Standing orders and future-dated payments, paused or changed in the app any time.
Payment Links | 0 | | | Request money with a link anyone can pay by card, Apple Pay or bank transfer.
Split the Bill | 0 | | | Split a card payment with friends and send reminders until everyone has paid.
Direct Debit Manager | 0 | | | Every direct debit in one list, alerts before they're taken, cancel in the app.
Cheque Imaging | 0 | | | Pay in a cheque with a photo in the app; the money clears the next working day.
Cash Deposits at the Post Office | 0 | | | Pay cash into your account at any Post Office counter with your card.
Instant Card Transfers | 1 | | | Send money to any Visa or Mastercard debit card worldwide in seconds.
Multi-Payment Batches | 1 | | | Pay up to 100 people at once from a file: rent collections, clubs, small payrolls.
Payment Protection Alerts | 0 | | | Confirmation of payee and scam warnings before paying a new recipient.
Recurring Card Payments Manager | 0 | | | See and stop the subscriptions charged to your card.
[cards cards]
Virtual Card | 0 | | | A card in the app for online shopping the moment you open your account.
Cashback Credit Card | 1 | | | 1 % cashback on purchases, no foreign fees. Representative 29.9 % APR variable.
Rewards Credit Card | 2 | | | Points worth 1.5p a pound for flights and hotels; £95 a year. 69.5 % APR variable.
{v}-Month Balance Transfer Card | 0 | | 18, 24, 30 | 0 % on balance transfers for {v} months, then 24.9 % APR variable.
{v}-Month Purchase Card | 0 | | 12, 20 | 0 % on purchases for {v} months to spread the cost of a big purchase.
Credit Builder Card | 0 | | | A low-limit credit card that builds your credit score, with payment reminders.
Travel Credit Card | 1 | | | No fees on spending or cash abroad and the Mastercard exchange rate.
Student Credit Card | 0 | | | A £500 credit card for students with 0 % for three months and no fee abroad.
Contactless Wearable | 0 | | | Pay with a ring, band or watch strap linked to your account.
Christmas Spending Card | 0 | 10 11 12 | | 0 % on purchases from November to March for Christmas presents.
Premium Metal Credit Card | 2 | | | Metal credit card, 2 % cashback abroad, lounge passes and purchase protection.
Card Controls | 0 | | | Turn online, contactless, ATM and gambling payments on or off; set a monthly limit.
Custom Card Designs | 1 | | | Choose a colour or upload a photo for your debit card.
Spare Card | 0 | | | A second debit card on the same account, to keep at home or give to someone.
[travel travel]
{v} Travel Insurance | 1 | | Annual Multi-Trip, European, Worldwide | {v} cover: medical costs, cancellation and delays.
Winter Sports Cover | 1 | 12 1 2 3 | | Ski and snowboard cover: equipment, piste closure and mountain rescue.
Summer Holiday Bundle | 1 | 5 6 7 8 | | Travel insurance, an eSIM and fee-free spending abroad for your summer trip.
Airport Lounge Pass | 2 | | | Access to 1,300 airport lounges worldwide, pay per visit in the app.
Travel eSIM | 0 | | | Mobile data in 150 countries from £3 a week, with no roaming charges.
Holiday Money Pots | 0 | | | Exchange into a currency pot before your trip when the rate suits you.
Travel Money Delivery | 0 | | | Foreign banknotes in 40 currencies delivered to your door the next day.
Flight Delay Compensation | 1 | | | £50 paid automatically when your flight is more than two hours late.
Car Hire Excess Cover | 0 | 4 5 6 7 8 9 | | Covers the excess if a hire car is damaged or stolen, worldwide.
Festival Cover | 0 | 6 7 8 | | Cover for tickets, tents and phones at UK festivals for a weekend.
Exchange Rate Alerts | 0 | | | A notification when a currency reaches your rate; exchange in one tap.
Global Cash Withdrawals | 1 | | | Fee-free cash withdrawals abroad up to £800 a month at the interbank rate.
Hotel Booking Cashback | 1 | | | 5 % cashback on hotels booked through the app.
Travel Medical Top-Up | 1 | | | Cover for pre-existing medical conditions on your travel insurance.
Gap Year Cover | 0 | | | Backpacker insurance for trips up to 18 months, adventure sports included.
Cruise Cover | 2 | | | Travel insurance for cruises: missed ports, cabin confinement, evacuation at sea.
[savings savings]
{v} Fixed Saver | 0 | | 6-Month, 18-Month, 2-Year, 3-Year, 5-Year | A rate fixed for {v}, paid at maturity.
{v}-Day Notice Saver | 0 | | 35, 60, 95, 120 | A higher variable rate for giving {v} days' notice before withdrawing.
Regular Saver | 0 | | | Save £25 to £250 a month for a year at 6 % AER fixed.
Green Saver | 1 | | | An easy-access saver funding only renewable energy and social housing loans.
Christmas Saver | 0 | 1 2 10 11 | | Save monthly from January; the money unlocks on 1 November for Christmas.
Holiday Saver | 0 | 1 2 3 4 5 | | Save towards your next holiday; the pot unlocks a week before you go.
Rainy Day Pot | 0 | | | An instant-access emergency fund with a goal of three months of spending.
Round-Up Pot | 0 | | | Card payments rounded up to the pound, the spare change saved automatically.
Joint Saver | 0 | | | An easy-access saver for two, interest paid monthly.
Lifetime ISA | 0 | 1 2 3 4 | | Save £4,000 a year for a first home or retirement with a 25 % government bonus.
{v} Fixed Rate Cash ISA | 1 | 1 2 3 4 | 1-Year, 2-Year | Tax-free savings at a rate fixed for {v}.
Flexible Cash ISA | 1 | | | Withdraw and replace ISA money in the same tax year without losing allowance.
Premium Saver | 2 | | | Our best easy-access rate for balances above £50,000.
Prize Saver | 0 | | | A monthly prize draw of up to £25,000 instead of interest; savings never at risk.
Savings Goals | 0 | | | Name a goal and a date; we suggest a weekly amount and move it for you.
ISA Transfer Service | 1 | 1 2 3 4 | | Move ISAs from other providers to Northwind keeping their tax-free status.
[investments investing]
Stocks and Shares ISA | 1 | 1 2 3 4 | | Invest up to £20,000 a tax year tax-free in funds and shares, from £1.
Ready-Made {v} Portfolio | 0 | | Cautious, Balanced, Adventurous | Funds managed for you at a {v} risk.
Share Dealing | 1 | | | Buy and sell UK and US shares for £1.50 a trade, fractional shares from £1.
Global Index Tracker | 0 | | | One low-cost fund tracking 3,000 companies worldwide, 0.12 % a year.
Ethical Investment Fund | 1 | | | A fund screened for environmental, social and governance standards.
Junior Stocks and Shares ISA | 0 | | | Invest up to £9,000 a year tax-free for a child.
Premium Investing | 2 | | | Commission-free trading, US shares in dollars and analyst research, £9.99 a month.
Regular Investing | 0 | | | Invest a fixed amount each month into your chosen funds.
Government Bonds | 1 | | | Buy UK gilts in the app and hold them to maturity for a fixed return.
Crypto Trading | 1 | | | Buy and sell Bitcoin and Ether from £1; high risk and not FSCS protected.
Financial Advice Session | 2 | | | An hour with a qualified financial adviser to plan your investments, £250.
Investment Round-Ups | 0 | | | Invest your card round-ups automatically into a ready-made portfolio.
General Investment Account | 1 | | | Invest beyond your ISA allowance, with annual tax reports.
Thematic Funds | 1 | | | Invest in clean energy, healthcare innovation and artificial intelligence.
[loans borrowing]
{v} Loan | 0 | | Car, Home Improvement, Debt Consolidation, Wedding | A fixed-rate {v} loan of £1,000 to £25,000.
Arranged Overdraft | 0 | | | An overdraft of up to £3,000 with a personal rate, set up in the app.
Salary Advance | 0 | | | Up to half of what you've earned this month before payday, for £1.99.
Buy Now Pay Later | 0 | 11 12 1 | | Split a card purchase over £100 into three interest-free monthly payments.
Green Car Loan | 1 | | | A lower fixed rate for an electric or hybrid car. Representative 5.4 % APR.
Premium Personal Loan | 2 | | | Loans of £25,000 to £50,000 at our lowest rates.
Loan Top-Up | 0 | | | Borrow more on your loan in one new fixed monthly payment.
Credit Score Tracker | 0 | | | Your credit score weekly for free, with tips to improve it.
Debt Help Plan | 0 | 1 2 | | Payment holidays and plans if you're struggling with repayments.
Pre-Approved Loan Offers | 0 | | | The loans you're pre-approved for, with no impact on your credit score.
Student Overdraft Extension | 0 | | | Keep an interest-free student overdraft for three years after graduating.
Christmas Loan | 0 | 11 12 | | A small loan of £500 to £2,000 for the holidays, repaid over a year.
[mortgages home]
{v} Fixed Mortgage | 0 | | 2-Year, 5-Year, 10-Year | A mortgage at a rate fixed for {v}, up to 90 % loan to value.
First-Time Buyer Mortgage | 0 | | | Buy your first home with a 5 % deposit and a free valuation.
Remortgage | 0 | | | Switch your mortgage to Northwind with free legal work and no fee.
Tracker Mortgage | 1 | | | A rate that follows the Bank of England base rate, no early repayment charges.
Offset Mortgage | 2 | | | Your savings reduce the interest you pay on your mortgage.
Buy-to-Let Mortgage | 1 | | | Mortgages for landlords up to 75 % loan to value.
Green Mortgage | 0 | | | A lower rate for homes with an A or B energy rating.
Mortgage in Principle | 0 | 3 4 5 6 | | How much you could borrow in ten minutes, no impact on your credit score.
Home Insurance | 0 | | | Buildings and contents cover from £12 a month.
Landlord Insurance | 1 | | | Cover for rented property: buildings, loss of rent and liability.
Home Move Helper | 0 | 3 4 5 6 7 | | A checklist, a conveyancer quote and address updates when you move house.
Energy Saving Loan | 0 | | | Borrow for solar panels, insulation or a heat pump at a discounted rate.
[family family]
Teen Account | 0 | | | An account and card for 13 to 17-year-olds; parents see spending and top up.
Pocket Money Scheduler | 0 | | | Pocket money paid automatically each week, with chores that unlock extra.
Junior Saver | 0 | | | A children's savings account with a bonus rate, managed by a parent.
Junior Cash ISA | 0 | | | Tax-free savings for a child of up to £9,000 a year.
Family Travel Cover | 1 | 6 7 8 12 | | Annual travel insurance for two adults and all children under 22.
Back to School Budget | 0 | 8 9 | | A pot and a plan for uniforms, shoes and school trips.
Life Insurance | 1 | | | Term life cover from £5 a month, paying your family a lump sum.
Family Shared Pots | 0 | | | Pots the whole family pays into, for holidays, birthdays and bills.
Childcare Account Link | 0 | 8 9 | | Pay into Tax-Free Childcare and track the government top-ups.
Income Protection | 1 | | | A monthly income if illness or injury stops you working.
Will Writing Service | 1 | | | A legal will written online and checked by a solicitor, £90.
Kids Card Designs | 0 | | | Choose your child's card design from ten illustrations.
[business business]
Business Account | 0 | | | A business current account for sole traders and companies, no monthly fee.
Business Pro | 1 | | | Free transfers, three team cards and accounting integrations for £9 a month.
Business Scale | 2 | | | Unlimited cards, bulk payments, expense approvals and a manager, £25 a month.
Invoicing | 0 | | | Send invoices from the app and match payments to them automatically.
Tax Pot | 0 | 1 7 12 | | A share of every payment set aside for self-assessment tax.
Self-Assessment Helper | 0 | 1 12 | | Income and expenses sorted into tax categories for your tax return.
Card Reader | 0 | | | Take card payments in person: a £29 reader, 1.69 % a transaction.
Business Loan | 0 | | | Borrow £5,000 to £250,000 for your business, decision in 48 hours.
Business Credit Card | 1 | | | A company credit card with employee cards and 0.5 % cashback.
Payroll | 1 | | | Pay employees and submit to HMRC every month, £4 per employee.
Expense Cards | 1 | | | Prepaid team cards with limits and receipts captured by photo.
Accounting Integrations | 0 | | | Sync transactions with Xero, QuickBooks or FreeAgent.
Business Savings | 0 | | | An easy-access savings account for your company's reserves.
Merchant Cash Advance | 0 | | | Funding repaid as a share of your card takings.
VAT Pot | 0 | 1 4 7 10 | | VAT set aside from every sale, ready for the quarter's return.
Business Insurance | 1 | | | Public liability, professional indemnity and equipment cover.
Freelancer Toolkit | 0 | | | Invoices, expenses, tax estimates and a tax pot for freelancers.
[insurance insurance]
Car Insurance | 0 | | | Comprehensive car insurance with a courtesy car and 24-hour claims.
Pet Insurance | 0 | | | Lifetime cover for cats and dogs of up to £10,000 a year in vet fees.
Private Health Insurance | 2 | | | Private treatment, fast diagnosis and mental health support.
Dental Insurance | 0 | | | Check-ups, hygienist visits and treatment up to £1,000 a year.
Bicycle Insurance | 0 | 3 4 5 6 7 8 | | Cover for bikes and e-bikes up to £5,000 against theft and damage.
Renters Insurance | 0 | | | Contents insurance for tenants from £5 a month.
Breakdown Cover | 0 | | | Roadside assistance in the UK and Europe with recovery.
Critical Illness Cover | 1 | | | A lump sum if you're diagnosed with one of 40 serious illnesses.
Laptop Insurance | 0 | | | A laptop covered against theft, damage and breakdown from £3.99 a month.
Wedding Insurance | 0 | 3 4 5 6 | | Cover for cancellation, venue failure, rings and the dress.
Event Ticket Insurance | 0 | | | Your money back on tickets if illness stops you going.
Motorbike Insurance | 0 | 4 5 6 7 | | Cover for motorbikes and scooters, helmet and leathers included.
Premium Home Emergency | 2 | 11 12 1 2 | | 24-hour cover for boilers, plumbing, electrics and locks.
[protection security]
Identity Protection | 1 | | | Dark web and credit application alerts, and help restoring your identity.
Card Purchase Protection | 1 | | | Things you buy by card covered against theft or damage for 90 days.
Scam Shield | 0 | | | Calls pretending to be your bank flagged, extra checks on risky payments.
Safe Contacts | 0 | | | Someone we contact if we see unusual activity on your account.
Gambling Block | 0 | | | Block gambling payments on your card, with a 48-hour cooling-off to remove it.
Login Alerts | 0 | | | A notification whenever your account is opened on a new device.
Location Security | 0 | | | Card payments checked against your phone's location to stop fraud abroad.
Account Recovery Kit | 0 | | | Recovery codes and a trusted contact if you lose your phone.
[pensions retirement]
Personal Pension | 0 | | | A pension in the app with tax relief added automatically, from £25 a month.
Pension Transfer | 0 | | | Find old workplace pensions and combine them in one.
SIPP | 1 | | | A self-invested personal pension: pick your own funds and shares.
Retirement Income Drawdown | 1 | | | A flexible income from your pension from 57, the rest left invested.
Annuity Comparison | 0 | | | Guaranteed retirement incomes from eight insurers in one quote.
Retirement Planner | 0 | | | What your pensions and savings could pay you in retirement.
Pension Top-Up Before Tax Year End | 0 | 2 3 4 | | Use this year's pension allowance before 5 April.
Equity Release | 2 | | | Tax-free cash from your home from 55 with a lifetime mortgage.
Over-60s Saver | 0 | | | A savings account for the over-60s with a bonus rate.
Power of Attorney Support | 0 | | | Let someone you trust manage your money if you can't.
"""


def products_catalogue() -> list[GeneratedProduct]:
    """The generated products, in a fixed order (their slugs are stable)."""
    products, category, topic = [], "", ""
    for line in PRODUCT_LINES.strip().splitlines():
        if line.startswith("["):
            category, topic = line.strip("[]").split()
            continue
        name, tier, months, variants, description = (part.strip() for part in line.split("|"))
        for variant in [v.strip() for v in variants.split(",")] if variants else [""]:
            title = name.replace("{v}", variant)
            words = "".join(ch if ch.isalnum() else " " for ch in title.lower()).split()
            products.append(
                GeneratedProduct(
                    slug=f"{category}-{'-'.join(words)}",
                    name=title,
                    category=category,
                    topic=topic,
                    description=description.replace("{v}", variant.lower()),
                    tier=int(tier),
                    months=tuple(int(month) for month in months.split()),
                )
            )
    return products


# Topics: what a customer is interested in (those of the product categories). Every item belongs to one.
TOPICS = tuple(dict.fromkeys(product.topic for product in products_catalogue()))


# --- The plan: who does what when (pure, no database) -------------------------------------------------------


@dataclass
class Item:
    key: str  # "article:12" / "product:7"
    slug: str
    title: str
    topic: str
    tier: int | None  # None for an article: anyone reads it
    months: tuple[int, ...] = ()  # in season; () for all year
    intents: tuple[str, ...] = ()
    weight: float = 1.0  # Zipf weight within its topic
    launch_day: int = 0  # days after the start of the year


@dataclass
class Shopper:
    number: int
    segment: str
    tier: int
    topics: list[float]  # interest in each of TOPICS, summing to 1
    activity: float
    join_day: int  # 0: a customer before the year began
    pk: int = 0
    purchased: set[str] = field(default_factory=set)
    used: dict[str, list[str]] = field(default_factory=dict)  # topic -> item keys, first use first


@dataclass
class PlannedConversation:
    shopper: Shopper
    at: datetime
    intent: str
    question: str
    article: Item
    pk: int = 0


@dataclass(frozen=True)
class PlannedEvent:
    shopper: Shopper
    item: Item
    action: str
    source: str
    at: datetime
    conversation: PlannedConversation | None = None


@dataclass
class Plan:
    events: list[PlannedEvent] = field(default_factory=list)
    conversations: list[PlannedConversation] = field(default_factory=list)


def items_weigh(items: list[Item], *, seed: int) -> None:
    """Zipf weights within each topic (ranks shuffled by the seed), and launch days for a few products."""
    rng = random.Random(f"{seed}:items")
    for topic in TOPICS:
        of_topic = sorted((item for item in items if item.topic == topic), key=lambda item: item.slug)
        rng.shuffle(of_topic)
        for rank, item in enumerate(of_topic, start=1):
            item.weight = 1 / rank**ZIPF
    for item in sorted(items, key=lambda item: item.slug):
        if item.tier is not None and rng.random() < LAUNCHED_DURING_YEAR:
            item.launch_day = rng.randrange(60, 330)


def shoppers_draw(*, count: int, seed: int) -> list[Shopper]:
    rng = random.Random(f"{seed}:customers")
    names = list(SEGMENTS)
    shoppers = []
    for number in range(1, count + 1):
        segment = rng.choices(names, weights=[SEGMENTS[name][0] for name in names])[0]
        _, tiers, preferences = SEGMENTS[segment]
        prior = [preferences.get(topic, 0.0) + BACKGROUND for topic in TOPICS]
        draws = [rng.gammavariate(INTEREST_CONCENTRATION * weight / sum(prior), 1.0) for weight in prior]
        # Mostly the customer's own interests, a little of everything (nobody is entirely predictable).
        topics = [0.92 * draw / sum(draws) + 0.08 / len(TOPICS) for draw in draws]
        shoppers.append(
            Shopper(
                number=number,
                segment=segment,
                tier=rng.choices(range(3), weights=tiers)[0],
                topics=topics,
                activity=rng.lognormvariate(0, 0.9),
                join_day=0 if rng.random() < 0.75 else rng.randrange(1, DAYS - 20),
            )
        )
    return shoppers


# Sessions by hour of the day (people look at their bank in the evening, hardly at night).
HOUR_WEIGHTS = (1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2, 3, 3, 3, 3, 4, 3.5, 3, 3, 3, 3.5, 4, 5, 5.5, 5, 3.5, 2)
EVENTS_PER_SESSION = 2.2  # a first guess of the sessions needed; history_plan sizes the plan to the target


def history_plan(
    *,
    items: list[Item],
    shoppers: list[Shopper],
    utterances: dict[str, tuple[str, ...]],
    interactions: int,
    seed: int,
    end: datetime,
) -> Plan:
    """At least ``interactions`` interactions and at most 2 % more (a session is never cut short), in time
    order, and the conversations. The same arguments plan the same history."""
    planner = HistoryPlanner(items, shoppers, utterances, end)
    sessions = round(interactions / EVENTS_PER_SESSION)
    for _ in range(8):
        plan = planner.plan(sessions=sessions, seed=seed)
        if interactions <= len(plan.events) <= interactions * 1.02:
            break
        sessions = math.ceil(sessions * interactions / len(plan.events) * 1.005)
    return plan


class HistoryPlanner:
    def __init__(
        self, items: list[Item], shoppers: list[Shopper], utterances: dict[str, tuple[str, ...]], end: datetime
    ) -> None:
        self.items, self.shoppers, self.utterances = items, shoppers, utterances
        self.start = end - timedelta(days=DAYS)
        self.articles = [item for item in items if item.intents]
        self._drawn: dict[tuple[str, int, int], tuple[list[Item], list[float]]] = {}
        total, self._activity = 0.0, []
        for shopper in shoppers:  # sessions per day with the bank: a late joiner has fewer, not denser ones
            total += shopper.activity * (DAYS - shopper.join_day) / DAYS
            self._activity.append(total)

    def plan(self, *, sessions: int, seed: int) -> Plan:
        rng = random.Random(f"{seed}:sessions")
        for shopper in self.shoppers:
            shopper.purchased, shopper.used = set(), {topic: [] for topic in TOPICS}
        starts = []
        for _ in range(sessions):
            shopper = rng.choices(self.shoppers, cum_weights=self._activity)[0]
            starts.append((self._moment(rng, shopper), shopper.number, False, shopper))
        for shopper in self.shoppers:
            if rng.random() < CONVERSING:
                starts += [
                    (self._moment(rng, shopper), shopper.number, True, shopper) for _ in range(rng.randint(1, 3))
                ]
        starts.sort(key=lambda start: start[:3])
        plan = Plan()
        for at, _, asks, shopper in starts:
            topic = self._topic(rng, shopper, at.month)
            if asks:
                topic, at = self._ask(rng, plan, shopper, topic, at)
            self._browse(rng, plan, shopper, topic, at)
        plan.events.sort(key=lambda event: event.at)  # stable: a session's events keep their order
        return plan

    def _moment(self, rng: random.Random, shopper: Shopper) -> datetime:
        day = rng.randrange(shopper.join_day, DAYS)
        hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
        return self.start + timedelta(days=day, hours=hour, seconds=rng.randrange(3600))

    def _topic(self, rng: random.Random, shopper: Shopper, month: int) -> str:
        weights = [
            interest * SEASONS.get(topic, {}).get(month, 1.0)
            for topic, interest in zip(TOPICS, shopper.topics, strict=True)
        ]
        return rng.choices(TOPICS, weights=weights)[0]

    def _ask(self, rng: random.Random, plan: Plan, shopper: Shopper, topic: str, at: datetime) -> tuple[str, datetime]:
        """A question to the bot about an article of the topic (or, when the topic has none, of the customer's
        likeliest topic that has: nobody asks the bot to sell them an ISA); the bot answers with the article and
        the customer reads it, then browses on. Returns the topic and the time browsing starts."""
        of_topic = [item for item in self.articles if item.topic == topic]
        if not of_topic:
            weights = [shopper.topics[TOPICS.index(item.topic)] * item.weight for item in self.articles]
            of_topic = [rng.choices(self.articles, weights=weights)[0]]
        article = rng.choices(of_topic, weights=[item.weight for item in of_topic])[0]
        intent = rng.choice(article.intents)
        question = rng.choice(self.utterances.get(intent) or (intent.replace("_", " ").rstrip("?").capitalize(),))
        conversation = PlannedConversation(shopper, at, intent, question, article)
        plan.conversations.append(conversation)
        read_at = at + timedelta(minutes=1)
        plan.events.append(PlannedEvent(shopper, article, "view", "widget", read_at, conversation))
        if rng.random() < 0.4:
            plan.events.append(PlannedEvent(shopper, article, "helpful", "widget", read_at + timedelta(seconds=40)))
        if article.key not in shopper.used[article.topic]:
            shopper.used[article.topic].append(article.key)
        return article.topic, read_at

    def _browse(self, rng: random.Random, plan: Plan, shopper: Shopper, topic: str, at: datetime) -> None:
        count = 1
        while count < 5 and rng.random() < 0.45:
            count += 1
        by_key = {item.key: item for item in self.items}
        for _ in range(count):
            at += timedelta(seconds=rng.randrange(20, 240))
            used = shopper.used[topic]
            if used and rng.random() < REVISIT:
                item = by_key[rng.choice(used)]
            else:
                item = self._draw(rng, topic, shopper.tier, at)
            if item is not None:
                self._use(rng, plan, shopper, item, at)

    def _draw(self, rng: random.Random, topic: str, tier: int, at: datetime) -> Item | None:
        """An item of the topic by Zipf weight, the customer's tier and the season; launched ones only."""
        if (topic, tier, at.month) not in self._drawn:
            candidates = [item for item in self.items if item.topic == topic]
            weights = [
                item.weight
                * (1.0 if item.tier is None else TIER_MATCH[abs(item.tier - tier)])
                * (0.1 if item.months and at.month not in item.months else 1.0)
                for item in candidates
            ]
            self._drawn[(topic, tier, at.month)] = candidates, weights
        candidates, weights = self._drawn[(topic, tier, at.month)]
        day = (at - self.start).days
        for _ in range(10):
            item = rng.choices(candidates, weights=weights)[0] if candidates else None
            if item is None or item.launch_day <= day:
                return item
        return None

    def _use(self, rng: random.Random, plan: Plan, shopper: Shopper, item: Item, at: datetime) -> None:
        seen_before = item.key in shopper.used[item.topic]
        if not seen_before:
            shopper.used[item.topic].append(item.key)
        if item.tier is None:  # an article: read, sometimes rated
            plan.events.append(PlannedEvent(shopper, item, "view", rng.choice(("host", "host", "widget")), at))
            feedback, rated_at = rng.random(), at + timedelta(seconds=30)
            if feedback < 0.15:
                plan.events.append(PlannedEvent(shopper, item, "helpful", "widget", rated_at))
            elif feedback < 0.19:
                plan.events.append(PlannedEvent(shopper, item, "not_helpful", "widget", rated_at))
            return
        # A product: sometimes reached through a recommendation the widget showed; bought on a second look
        # likelier than on the first, and once at most.
        plan.events.append(PlannedEvent(shopper, item, "click" if rng.random() < 0.12 else "view", "host", at))
        if item.key not in shopper.purchased and rng.random() < (0.15 if seen_before else 0.04):
            shopper.purchased.add(item.key)
            bought_at = at + timedelta(minutes=rng.randrange(2, 15))
            plan.events.append(PlannedEvent(shopper, item, "purchase", "host", bought_at))


# --- Writing it ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GeneratedHistory:
    customers: int
    interactions: int
    positives: int  # views, clicks, helpful and purchases: what the recommender learns from
    purchases: int
    conversations: int
    articles: int
    products: int
    start: datetime
    end: datetime


def catalogue_ensure() -> list[Item]:
    """The generated products created or updated (the demo's articles and products must exist), and every
    published article and product as the planner sees it, in slug order."""
    for product in products_catalogue():
        Product.objects.update_or_create(
            slug=product.slug,
            defaults={
                "name": product.name,
                "category": product.category,
                "description": product.description,
                "active": True,
            },
        )
    generated = {product.slug: product for product in products_catalogue()}
    items = []
    for pk, slug, title, tags, intents in Article.objects.filter(published=True).values_list(
        "pk", "slug", "title", "tags", "intents"
    ):
        topic = ARTICLE_TOPIC.get(slug) or TAG_TOPIC.get((tags or [""])[0], "everyday")
        items.append(Item(item_key(article_id=pk), slug, title, topic, None, intents=tuple(intents)))
    for pk, slug, name, category in Product.objects.filter(active=True).values_list("pk", "slug", "name", "category"):
        if slug in generated:
            topic, tier, months = generated[slug].topic, generated[slug].tier, generated[slug].months
        else:
            topic, tier = DEMO_PRODUCTS.get(slug, (_category_topic(category), 0))
            months = ()
        items.append(Item(item_key(product_id=pk), f"~{slug}", name, topic, tier, months))
    return sorted(items, key=lambda item: item.slug)


def _category_topic(category: str) -> str:
    """The topic of a product category (a product neither the demo's nor generated: another catalogue's)."""
    topics = {product.category: product.topic for product in products_catalogue()}
    return topics.get(category, "everyday")


def history_delete() -> None:
    """What an earlier run wrote (the generated customers' interactions, conversations and themselves)."""
    generated = Customer.objects.filter(external_id__startswith=CUSTOMER_PREFIX)
    Interaction.objects.filter(customer__in=generated).delete()
    Message.objects.filter(conversation__customer__in=generated).delete()
    Conversation.objects.filter(customer__in=generated).delete()
    generated.delete()


@transaction.atomic
def history_generate(*, customers: int, interactions: int, seed: int, end: datetime | None = None) -> GeneratedHistory:
    """Replace the generated history with a new one of ``customers`` customers and at least ``interactions``
    interactions over the year before ``end`` (default: today, midnight UTC). Needs the demo's articles."""
    end = end or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    history_delete()
    items = catalogue_ensure()
    if not any(item.intents for item in items):
        raise ValueError("No published articles: save the demo's first (apps.web.demo.content.articles_ensure)")
    items_weigh(items, seed=seed)
    shoppers = shoppers_draw(count=customers, seed=seed)
    utterances = utterances_load(shared_data_dir=settings.SHARED_DATA_DIR).by_intent
    plan = history_plan(
        items=items, shoppers=shoppers, utterances=utterances, interactions=interactions, seed=seed, end=end
    )
    _customers_insert(shoppers, seed=seed, start=end - timedelta(days=DAYS))
    _conversations_insert(plan.conversations, seed=seed)
    _interactions_insert(plan.events)
    actions = [event.action for event in plan.events]
    return GeneratedHistory(
        customers=len(shoppers),
        interactions=len(plan.events),
        positives=sum(action in ("view", "click", "helpful", "purchase") for action in actions),
        purchases=actions.count("purchase"),
        conversations=len(plan.conversations),
        articles=sum(item.tier is None for item in items),
        products=sum(item.tier is not None for item in items),
        start=end - timedelta(days=DAYS),
        end=end,
    )


def _customers_insert(shoppers: list[Shopper], *, seed: int, start: datetime) -> None:
    rng = random.Random(f"{seed}:names")
    pools = name_pools()
    rows = []
    for shopper in shoppers:
        pool = rng.choice(pools)
        first, last = rng.choice(pool.first_names), rng.choice(pool.last_names)
        joined = (
            start + timedelta(days=shopper.join_day)
            if shopper.join_day
            else start - timedelta(days=rng.randrange(30, 1500))
        )
        row = Customer(
            external_id=f"{CUSTOMER_PREFIX}{shopper.number:05d}",
            name=f"{first} {last}",
            email=f"customer{shopper.number}@example.com",
            locale=pool.locale,
            attributes={"segment": shopper.segment, "tier": TIERS[shopper.tier], "country": pool.country},
        )
        rows.append((row, joined))
    Customer.objects.bulk_create([row for row, _ in rows], batch_size=BATCH)
    for (row, joined), shopper in zip(rows, shoppers, strict=True):
        row.created_at = row.updated_at = joined
        shopper.pk = row.pk
    fields_write([row for row, _ in rows], ["created_at", "updated_at"])


def _conversations_insert(planned: list[PlannedConversation], *, seed: int) -> None:
    """Closed widget conversations: the customer's question (with the intent the models read in it) and the
    bot's answer citing the article."""
    rng = random.Random(f"{seed}:conversations")
    rows = [
        Conversation(
            customer_id=conversation.shopper.pk,
            channel=Conversation.Channel.WIDGET,
            state=Conversation.State.CLOSED,
            last_seq=2,
            last_message_at=conversation.at + timedelta(seconds=3),
            closed_at=conversation.at + timedelta(minutes=5),
        )
        for conversation in planned
    ]
    Conversation.objects.bulk_create(rows, batch_size=BATCH)
    messages = []
    for row, conversation in zip(rows, planned, strict=True):
        conversation.pk = row.pk
        row.created_at, row.updated_at = conversation.at, conversation.at + timedelta(minutes=5)
        messages += [
            Message(
                conversation=row,
                seq=1,
                role=Message.Role.CUSTOMER,
                text=conversation.question,
                intent=conversation.intent,
                intent_confidence=round(rng.uniform(0.75, 0.99), 3),
                decision=Message.Decision.ANSWER,
                annotations={"source": "bench.recommend_data"},
                created_at=conversation.at,
            ),
            Message(
                conversation=row,
                seq=2,
                role=Message.Role.BOT,
                text=f"This should help: {conversation.article.title}",
                created_at=conversation.at + timedelta(seconds=3),
            ),
        ]
    fields_write(rows, ["created_at", "updated_at"])
    Message.objects.bulk_create(messages, batch_size=BATCH)


def _interactions_insert(events: list[PlannedEvent]) -> None:
    rows = []
    for event in events:
        kind, pk = event.item.key.split(":")
        rows.append(
            Interaction(
                customer_id=event.shopper.pk,
                article_id=int(pk) if kind == "article" else None,
                product_id=int(pk) if kind == "product" else None,
                action=event.action,
                source=event.source,
                conversation_id=event.conversation.pk if event.conversation else None,
                occurred_at=event.at,
            )
        )
    Interaction.objects.bulk_create(rows, batch_size=BATCH)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.recommend_data", description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=4000, help="generated customers (4000)")
    parser.add_argument("--interactions", type=int, default=60000, help="at least this many interactions (60000)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    articles_ensure()
    products_ensure()
    started = time.monotonic()
    history = history_generate(customers=args.customers, interactions=args.interactions, seed=args.seed)
    conversation_facts_refresh_stale()  # the reports' facts of the closed conversations (bulk inserts skip them)
    print(
        f"{history.interactions} interactions ({history.positives} positive, {history.purchases} purchases) of "
        f"{history.customers} customers with {history.articles} articles and {history.products} products, "
        f"{history.conversations} conversations, {history.start:%Y-%m-%d} to {history.end:%Y-%m-%d}, "
        f"in {time.monotonic() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
