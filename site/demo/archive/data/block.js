window.YTD.block.part0 = [
  {
    "blocking" : {
      "accountId" : "1700000000000000113",
      "userLink" : "https://twitter.com/intent/user?user_id=1700000000000000113"
    }
  }
]